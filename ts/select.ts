// Which implementation the default entry point uses.
import type { Backend } from './backend';
import { jsBackend } from './js/backend';
import { tryLoadNativeBackend } from './native/backend';
import { platformPackageName, VERSION } from './native/load';

/** What to install to get the native addon here, and why it is most likely missing. */
function installHint(): string {
  const platformPackage = platformPackageName();
  if (platformPackage === undefined) return `no prebuilt binary exists for ${process.platform}-${process.arch}.`;
  const pkg = `${platformPackage}@${VERSION}`;
  return (
    `the binary for this platform is the package ${pkg} (npm install ${pkg}); ` +
    'it is an optional dependency, so the likely cause is an install with --omit=optional ' +
    '(or optional=false in .npmrc, or a lockfile made on another platform).'
  );
}

export function selectBackend(): Backend {
  if (process.env.CONCURRENT_FS_IMPL === 'js') return jsBackend;
  const native = tryLoadNativeBackend();
  if ('backend' in native) return native.backend;
  process.emitWarning(
    `concurrent-fs: the native addon did not load (${native.error.message}); using the pure-JS fallback, which has weaker guarantees (see README). ${installHint()}`,
    {
      code: 'CFS_FALLBACK',
    },
  );
  return jsBackend;
}
