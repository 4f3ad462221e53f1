// Which implementation the default entry point uses.
import type { Backend } from './backend';
import { jsBackend } from './js/backend';
import { tryLoadNativeBackend } from './native/backend';

export function selectBackend(): Backend {
  if (process.env.CONCURRENT_FS_IMPL === 'js') return jsBackend;
  const native = tryLoadNativeBackend();
  if ('backend' in native) return native.backend;
  process.emitWarning(
    `concurrent-fs: the native addon did not load (${native.error.message}); using the pure-JS fallback, which has weaker guarantees (see README).`,
    {
      code: 'CFS_FALLBACK',
    },
  );
  return jsBackend;
}
