// A FileLock held for one owner (a port lease, a workspace's lease) until the owner lets
// go: `release()` may be called any number of times, and the lock's descriptor is
// registered for the CLI to hand to a child (./held-descriptors.ts).
import { registerDescriptors } from './held-descriptors';
import type { FileLockBase } from './lock';

export class HeldLock {
  #lock: FileLockBase | undefined;

  constructor(lock: FileLockBase) {
    this.#lock = lock;
    registerDescriptors(this, () => [this.#lock?.descriptor()]);
  }

  /** Whether the lock is still held (`release()` was not called). */
  get held(): boolean {
    return this.#lock !== undefined;
  }

  /** The held lock's OS descriptor (native, Unix); undefined once released or for the fallback. */
  descriptor(): number | undefined {
    return this.#lock?.descriptor();
  }

  /** Lets go; calling it again does nothing. */
  release(): void {
    const lock = this.#lock;
    this.#lock = undefined;
    if (lock?.isLocked) lock.release();
  }
}
