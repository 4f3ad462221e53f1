// Atomic writes with Node's promise fs, so every step runs off the event loop. The
// sequence and its reasons are the synchronous version's (sync.ts); here it is
// split over the life of an AtomicFile, which streamed writes (`openAtomic`) need.
import type { FileHandle } from 'node:fs/promises';
import type { AtomicFileHandle, WriteSettings } from '../../backend';
import { systemError } from '../../errors';
import { hasCode, naming } from '../fs-error';
import { flush, openDirectory, syncDirectory } from './durability';
import { applyPermissions } from './permissions';
import { replace } from './replace';
import { refuseExisting, resolveTarget, type Target } from './target';
import { createTemp, removeQuietly, removeQuietlyAsync } from './temp-file';

export async function openAtomic(path: string, settings: WriteSettings): Promise<AtomicFileHandle> {
  return JsAtomicFile.open(await targetFor(path, settings), settings);
}

export async function atomicWrite(path: string, data: Uint8Array, settings: WriteSettings): Promise<void> {
  await writeTarget(await targetFor(path, settings), data, settings);
}

/** True when this call created `path`; false when any entry (even a dangling link) was there. */
export async function createExclusive(path: string, data: Uint8Array, settings: WriteSettings): Promise<boolean> {
  try {
    await atomicWrite(path, data, { ...settings, noClobber: true });
    return true;
  } catch (err) {
    // There already, or created by someone else since we looked (link refused).
    if (hasCode(err, 'EEXIST') && !err.committed) return false;
    throw err;
  }
}

/** The target; with noClobber, links are not followed and any entry is EEXIST. */
async function targetFor(path: string, settings: WriteSettings): Promise<Target> {
  return refuseExisting(await resolveTarget(path, !settings.noClobber), settings);
}

async function writeTarget(target: Target, data: Uint8Array, settings: WriteSettings): Promise<void> {
  const file = await JsAtomicFile.open(target, settings);
  await file.write(data);
  await file.commit();
}

/** What an uncommitted AtomicFile holds open. */
interface Resources {
  file: FileHandle;
  temp: string;
  dir: FileHandle | undefined;
}

const ignore = () => undefined;

function closeAll({ file, dir }: Resources): Promise<unknown> {
  return Promise.all([file.close().catch(ignore), dir?.close().catch(ignore)]);
}

/** An AtomicFile dropped without commit or abort must not leave its temp file behind. */
const abandoned = new FinalizationRegistry<Resources>((resources) => {
  void closeAll(resources);
  removeQuietly(resources.temp);
});

class JsAtomicFile implements AtomicFileHandle {
  /** Undefined once committed, aborted or failed: the temp file is gone then. */
  #open: Resources | undefined;

  private constructor(
    private readonly target: Target,
    private readonly settings: WriteSettings,
    resources: Resources,
  ) {
    this.#open = resources;
    abandoned.register(this, resources, this);
  }

  static async open(target: Target, settings: WriteSettings): Promise<JsAtomicFile> {
    const dir = await openDirectory(target.path, target.given, settings.durability);
    let temp: { file: FileHandle; path: string };
    try {
      temp = await createTemp(target.path);
    } catch (err) {
      await dir?.close().catch(ignore);
      throw naming(err, target.given);
    }
    const atomic = new JsAtomicFile(target, settings, { file: temp.file, temp: temp.path, dir });
    try {
      await applyPermissions(temp.file, target.existing, settings.mode);
    } catch (err) {
      throw await atomic.#fail(err);
    }
    return atomic;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const { file } = this.#resources('write');
    try {
      for (let done = 0; done < chunk.length; ) done += (await file.write(chunk, done, chunk.length - done)).bytesWritten;
    } catch (err) {
      throw await this.#fail(err);
    }
  }

  async commit(): Promise<void> {
    const resources = this.#resources('rename');
    const { file, temp, dir } = resources;
    try {
      // Never rename a temp whose flush failed (fsyncgate); close can report a deferred
      // write error (NFS).
      await flush(file, this.settings.durability);
      await file.close();
      await replace(temp, this.target.path, this.settings.noClobber);
    } catch (err) {
      throw await this.#fail(err);
    }
    this.#forget();
    try {
      if (dir) await syncDirectory(dir, this.target.given);
    } finally {
      await dir?.close().catch(ignore);
    }
  }

  async abort(): Promise<void> {
    await this.#discard();
  }

  #resources(syscall: string): Resources {
    if (!this.#open) throw systemError({ code: 'EBADF', syscall, path: this.target.given });
    return this.#open;
  }

  #forget(): Resources | undefined {
    const resources = this.#open;
    this.#open = undefined;
    abandoned.unregister(this);
    return resources;
  }

  async #discard(): Promise<void> {
    const resources = this.#forget();
    if (!resources) return;
    await closeAll(resources);
    await removeQuietlyAsync(resources.temp);
  }

  /** Cleans up after a failed step; returns the error to throw, naming the target. */
  async #fail(err: unknown): Promise<unknown> {
    await this.#discard();
    return naming(err, this.target.given);
  }
}
