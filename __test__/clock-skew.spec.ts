// Clock skew: the wall clock stepped back by 1 ms, 50 ms, 5 s and 1 h inside a running
// process (libfaketime; Node's monotonic clock stays real, or its timers would hang).
// Snowflake (twitter and sonyflake layouts, 'wait' and 'throw' policies), nextBatch,
// uuidv7 and uuidv7Batch must never repeat or decrease, and must not throw.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS } from './helpers/impls';
import { runFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

/** libfaketime's preload library (Debian's faketime package), if installed. */
function findFaketime(): string | undefined {
  if (process.platform !== 'linux' || !existsSync('/usr/lib')) return undefined;
  for (const arch of readdirSync('/usr/lib')) {
    const lib = join('/usr/lib', arch, 'faketime', 'libfaketime.so.1');
    if (existsSync(lib)) return lib;
  }
  return undefined;
}

const FAKETIME = findFaketime();

interface StepReport {
  stepMs: number;
  violations: string[];
  errors: string[];
  wallDeltaMs: number;
  naiveWentBack: boolean;
}

describe.skipIf(!FAKETIME)('IDs while the wall clock steps back (libfaketime)', () => {
  it.each(IMPLEMENTATIONS)('%s: never repeat or decrease, never throw; the wall clock (and a naive ID) did go back', async (impl) => {
    const clockFile = join(tempDir(), 'faketime');
    writeFileSync(clockFile, '+0');
    const run = await runFixture('clock-skew.cjs', [impl, clockFile], {
      env: {
        LD_PRELOAD: FAKETIME,
        FAKETIME_TIMESTAMP_FILE: clockFile,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      },
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const steps = JSON.parse(run.stdout) as StepReport[];
    expect(steps.map((s) => s.stepMs)).toEqual([1, 50, 5_000, 3_600_000]);
    for (const step of steps) {
      expect({ stepMs: step.stepMs, violations: step.violations, errors: step.errors }).toEqual({
        stepMs: step.stepMs,
        violations: [],
        errors: [],
      });
      // The control: the wall clock really went back. Checked on the large steps only,
      // where no scheduling delay on a loaded machine could hide it; the small ones ride
      // on the same mechanism.
      if (step.stepMs >= 5_000) {
        expect(step.wallDeltaMs).toBeLessThan(-step.stepMs / 2);
        expect(step.naiveWentBack).toBe(true);
      }
    }
  });
});

if (!FAKETIME) it.skip('clock skew: skipped, libfaketime is not installed (Debian package faketime; .ci/run installs it)', () => {});
