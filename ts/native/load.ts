// Finds the native addon: an explicit path, a binary built in this checkout, or the
// per-platform npm package (napi-rs layout). Target names come from @napi-rs/triples,
// the same list the napi CLI builds from, so nothing is spelled twice.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Binding from './binding';

export type NativeBinding = typeof Binding;

interface Triple {
  abi: string | null;
  platformArchABI: string;
}

// Loaded with require: the package's types are ESM-only, its CommonJS build is not.
const { platformArchTriples } = require('@napi-rs/triples') as {
  platformArchTriples: Record<string, Record<string, Triple[]> | undefined>;
};

const PACKAGE_ROOT = join(__dirname, '..', '..');
const BINARY_NAME = 'concurrent-fs';

function isMusl(): boolean {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    // No ldd to read: ask Node itself (network lookups off: they can stall for minutes).
    const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
    if (!report) return false;
    report.excludeNetwork = true;
    const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    return !header?.glibcVersionRuntime;
  }
}

/** platform-arch-abi names for this machine, best first: `linux-x64-gnu`, ... */
export function platformNames(): string[] {
  const triples = platformArchTriples[process.platform]?.[process.arch] ?? [];
  const libc = process.platform === 'linux' ? (isMusl() ? 'musl' : 'gnu') : undefined;
  return triples.filter((t) => libc === undefined || t.abi === libc || t.abi === `${libc}eabihf`).map((t) => t.platformArchABI);
}

export function loadBinding(): NativeBinding {
  const errors: string[] = [];
  const attempt = (what: string): NativeBinding | undefined => {
    try {
      return require(what) as NativeBinding;
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const explicit = process.env.CONCURRENT_FS_NATIVE_LIBRARY_PATH;
  if (explicit) {
    // An explicit choice that fails is an error, not a cue to load some other binary.
    const binding = attempt(explicit);
    if (binding) return binding;
    throw new Error(`cannot load the concurrent-fs native addon from CONCURRENT_FS_NATIVE_LIBRARY_PATH (${errors[0]})`);
  }
  for (const name of platformNames()) {
    const binding = attempt(join(PACKAGE_ROOT, `${BINARY_NAME}.${name}.node`)) ?? attempt(`concurrent-fs-${name}`);
    if (binding) return binding;
  }
  if (errors.length === 0) errors.push(`no prebuilt binary for ${process.platform}-${process.arch}`);
  throw new Error(`cannot load the concurrent-fs native addon (tried ${errors.join('; ')})`);
}
