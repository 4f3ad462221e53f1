// The implementations every shared behaviour suite runs against.
import type { Impl } from './worker';

export const IMPLEMENTATIONS: Impl[] = ['native', 'js'];

/** The built entry point of an implementation, as a user would import it. */
export function load(impl: Impl): typeof import('../../dist/native') {
  return require(impl === 'js' ? '../../dist/js.js' : '../../dist/native.js');
}
