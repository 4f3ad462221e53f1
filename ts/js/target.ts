// Where an atomic write lands, and what it replaces. Like `fs.writeFile`, writing to a
// symlink writes the file it points to (the link stays a link); a directory is never
// replaced (EISDIR).
import * as fs from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { systemError } from '../errors';
import { hasCode, naming } from './fs-error';

export interface Existing {
  /** Permission bits, kept by the new file unless `mode` is given. */
  mode: number;
  uid: number;
  gid: number;
}

export interface Target {
  /** The path the caller gave; errors name it. */
  given: string;
  /** The file to replace: `given`, or where the symlink(s) at `given` lead. */
  path: string;
  /** The file being replaced, if there is one. */
  existing: Existing | undefined;
}

/** Linux's limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;

/** What one lstat of `path` says: the target, or undefined when `path` is a symlink to follow. */
function targetAt(given: string, path: string, stat: fs.Stats | undefined): Target | undefined {
  if (stat === undefined) return { given, path, existing: undefined };
  if (stat.isSymbolicLink()) return undefined;
  if (stat.isDirectory()) throw systemError({ code: 'EISDIR', syscall: 'open', path: given });
  return { given, path, existing: { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid } };
}

function checkName(given: string): void {
  // open(2) refuses to create "name/": only a directory can be named so.
  if (given.endsWith('/') || given.endsWith(sep)) throw systemError({ code: 'EISDIR', syscall: 'open', path: given });
}

function tooManyLinks(given: string): Error {
  return systemError({ code: 'ELOOP', syscall: 'open', path: given, message: `ELOOP: too many symbolic links, open '${given}'` });
}

export function resolveTargetSync(given: string): Target {
  checkName(given);
  let path = given;
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(path);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw naming(err, given);
    }
    const target = targetAt(given, path, stat);
    if (target) return target;
    path = resolve(dirname(path), readLinkSync(path, given));
  }
  throw tooManyLinks(given);
}

export async function resolveTarget(given: string): Promise<Target> {
  checkName(given);
  let path = given;
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    let stat: fs.Stats | undefined;
    try {
      stat = await fs.promises.lstat(path);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw naming(err, given);
    }
    const target = targetAt(given, path, stat);
    if (target) return target;
    path = resolve(dirname(path), await readLink(path, given));
  }
  throw tooManyLinks(given);
}

function readLinkSync(path: string, given: string): string {
  try {
    return fs.readlinkSync(path);
  } catch (err) {
    throw naming(err, given);
  }
}

async function readLink(path: string, given: string): Promise<string> {
  try {
    return await fs.promises.readlink(path);
  } catch (err) {
    throw naming(err, given);
  }
}
