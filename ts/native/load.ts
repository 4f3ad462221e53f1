// Finds the native addon: an explicit path, then the per-platform npm package (napi-rs
// layout, installed by npm as an optional dependency), then a binary built in this
// checkout. Target names come from @napi-rs/triples, the same list the napi CLI builds
// from; the requires themselves are literal (targets.ts, generated), so a bundler can
// follow them, and the version is fixed at build time, so a bundle needs no package.json.
import { readFileSync } from 'node:fs';
import type * as Binding from './binding';
import { PACKAGE_NAME, TARGETS, VERSION } from './targets';

export { PACKAGE_NAME, VERSION };

export type NativeBinding = typeof Binding;

interface Triple {
  abi: string | null;
  platformArchABI: string;
}

// Loaded with require: the package's types are ESM-only, its CommonJS build is not.
const { platformArchTriples } = require('@napi-rs/triples') as {
  platformArchTriples: Record<string, Record<string, Triple[]> | undefined>;
};

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

/** The platform package to install on this machine (`@concurrent-fs/binding-linux-x64-gnu`). */
export function platformPackageName(): string | undefined {
  const name = platformNames()[0];
  return name === undefined ? undefined : TARGETS[name]?.packageName;
}

export function loadBinding(): NativeBinding {
  const errors: string[] = [];
  const attempt = (what: string, load: () => unknown): NativeBinding | undefined => {
    let loaded: unknown;
    try {
      loaded = load();
    } catch (err) {
      loaded = err;
    }
    if (!(loaded instanceof Error)) return loaded as NativeBinding;
    errors.push(`${what}: ${loaded.message.split('\n')[0]}`);
    return undefined;
  };
  // The platform package, only at this package's version: the TS layer and the addon
  // change together, so a binary from another release may take other arguments
  // (napi-rs pitfall: npm can leave a stale optional dependency behind).
  const attemptPackage = (name: string): NativeBinding | undefined => {
    const target = TARGETS[name];
    if (!target) return undefined;
    const version = target.packageVersion();
    if (version instanceof Error) {
      errors.push(`${target.packageName}: ${version.message.split('\n')[0]}`);
      return undefined;
    }
    if (version === VERSION) return attempt(target.packageName, target.loadPackage);
    errors.push(`${target.packageName}: version ${version} does not match ${PACKAGE_NAME} ${VERSION} (reinstall ${PACKAGE_NAME})`);
    return undefined;
  };

  const explicit = process.env.CONCURRENT_FS_NATIVE_LIBRARY_PATH;
  if (explicit) {
    // An explicit choice that fails is an error, not a cue to load some other binary.
    const binding = attempt(explicit, () => require(explicit));
    if (binding) return binding;
    throw new Error(`cannot load the concurrent-fs native addon from CONCURRENT_FS_NATIVE_LIBRARY_PATH (${errors[0]})`);
  }
  const names = platformNames();
  for (const name of names) {
    const binding = attemptPackage(name);
    if (binding) return binding;
  }
  for (const name of names) {
    const target = TARGETS[name];
    const binding = target && attempt(`${name} binary of this checkout`, target.loadLocal);
    if (binding) return binding;
  }
  if (errors.length === 0) errors.push(`no prebuilt binary for ${process.platform}-${process.arch}`);
  throw new Error(`cannot load the concurrent-fs native addon (tried ${errors.join('; ')})`);
}
