// Finds the native addon: an explicit path, then the per-platform npm package (napi-rs
// layout, installed by npm as an optional dependency), then a binary built in this
// checkout. Target names come from @napi-rs/triples, the same list the napi CLI builds
// from, so nothing is spelled twice.
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
export const PACKAGE_NAME = 'concurrent-fs';
const BINARY_NAME = 'concurrent-fs';
export const VERSION = (require(join(PACKAGE_ROOT, 'package.json')) as { version: string }).version;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The C library named in a `/proc/<pid>/maps` listing, if any. */
export function libcFromMaps(maps: string): 'gnu' | 'musl' | undefined {
  if (/\/ld-musl-|\/libc\.musl-/.test(maps)) return 'musl';
  if (/\/libc(\.so\.6|-2\.\d+\.so)\b/.test(maps)) return 'gnu';
  return undefined;
}

/** The C library of this Linux process: the addon must be built against the same one. */
function linuxLibc(): 'gnu' | 'musl' {
  // The libraries mapped into this very process are the truth, and reading them takes
  // well under a millisecond. The ldd script (napi-rs's first check) can be from another
  // libc than the running Node, e.g. under nix (napi-rs#2593).
  const fromMaps = libcFromMaps(readText('/proc/self/maps') ?? '');
  if (fromMaps) return fromMaps;
  const ldd = readText('/usr/bin/ldd');
  if (ldd) return ldd.includes('musl') ? 'musl' : 'gnu';
  // Last resort: Node's own report, with network lookups off (they can stall for minutes).
  const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
  if (!report) return 'gnu';
  report.excludeNetwork = true;
  const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ? 'gnu' : 'musl';
}

/** platform-arch-abi names for this machine, best first: `linux-x64-gnu`, ... */
export function platformNames(): string[] {
  const triples = platformArchTriples[process.platform]?.[process.arch] ?? [];
  const libc = process.platform === 'linux' ? linuxLibc() : undefined;
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
  // The platform package, only at this package's version: the TS layer and the addon
  // change together, so a binary from another release may take other arguments
  // (napi-rs pitfall: npm can leave a stale optional dependency behind).
  const attemptPackage = (name: string): NativeBinding | undefined => {
    const pkg = `${PACKAGE_NAME}-${name}`;
    let version: string;
    try {
      version = (require(`${pkg}/package.json`) as { version: string }).version;
    } catch (err) {
      errors.push(`${pkg}: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
    if (version === VERSION) return attempt(pkg);
    errors.push(`${pkg}: version ${version} does not match ${PACKAGE_NAME} ${VERSION} (reinstall ${PACKAGE_NAME})`);
    return undefined;
  };

  const explicit = process.env.CONCURRENT_FS_NATIVE_LIBRARY_PATH;
  if (explicit) {
    // An explicit choice that fails is an error, not a cue to load some other binary.
    const binding = attempt(explicit);
    if (binding) return binding;
    throw new Error(`cannot load the concurrent-fs native addon from CONCURRENT_FS_NATIVE_LIBRARY_PATH (${errors[0]})`);
  }
  const names = platformNames();
  for (const name of names) {
    const binding = attemptPackage(name);
    if (binding) return binding;
  }
  for (const name of names) {
    const binding = attempt(join(PACKAGE_ROOT, `${BINARY_NAME}.${name}.node`));
    if (binding) return binding;
  }
  if (errors.length === 0) errors.push(`no prebuilt binary for ${process.platform}-${process.arch}`);
  throw new Error(`cannot load the concurrent-fs native addon (tried ${errors.join('; ')})`);
}
