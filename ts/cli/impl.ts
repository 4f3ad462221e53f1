// Which implementation a command runs on. Commands load it when they run, not when the
// CLI starts, so `--help` never loads the addon and `demo --impl js` never needs it.
// Only the package's public entry points are used, as any user would.

export type Cfs = typeof import('../index');
export type ImplName = 'native' | 'js';
export const IMPL_NAMES: readonly ImplName[] = ['native', 'js'];

/** `concurrent-fs/native`, `concurrent-fs/js`, or by default `concurrent-fs` (native if it loads). */
export function loadImpl(name?: ImplName): Cfs {
  if (name === 'js') return require('../js');
  if (name === 'native') return require('../native');
  return require('../index');
}
