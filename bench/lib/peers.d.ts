// The parts of the untyped peer packages the bench calls (they ship no declarations and
// have no @types package installed here). Only what the bench uses, as their READMEs
// document it.

declare module 'flake-idgen' {
  class FlakeId {
    constructor(options?: { id?: number; epoch?: number });
    /** Throws "Sequence exceeded" past 4096 IDs in one millisecond. */
    next(): Buffer;
  }
  export = FlakeId;
}

declare module 'fs-native-extensions' {
  export function waitForLock(fd: number, options?: { shared?: boolean }): Promise<void>;
  export function waitForLockSync(fd: number, options?: { shared?: boolean }): void;
  export function tryLock(fd: number, options?: { shared?: boolean }): boolean;
  export function unlock(fd: number): void;
}

declare module 'proper-lockfile' {
  interface LockOptions {
    realpath?: boolean;
    retries?: number | { retries?: number; forever?: boolean; minTimeout?: number; maxTimeout?: number; factor?: number };
  }
  export function lock(file: string, options?: LockOptions): Promise<() => Promise<void>>;
  export function lockSync(file: string, options?: LockOptions): () => void;
}

declare module 'write-file-atomic' {
  interface Options {
    fsync?: boolean;
  }
  function writeFileAtomic(file: string, data: string | Buffer, options?: Options): Promise<void>;
  namespace writeFileAtomic {
    function sync(file: string, data: string | Buffer, options?: Options): void;
  }
  export = writeFileAtomic;
}
