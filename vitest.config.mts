import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Multi-process tests spawn their own children; running files in parallel on a
    // 2-core machine only makes their timing noisier.
    fileParallelism: false,
    // Hang guards, not speed checks: a multi-process test (100 SIGKILLed writers, six
    // leases in turn) takes 35 s on a quiet 2-core machine and went past 60 s at load 18.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
