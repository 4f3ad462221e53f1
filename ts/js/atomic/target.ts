// Where an atomic write lands, and what it replaces. Like `fs.writeFile`, writing to a
// symlink writes the file it points to (the link stays a link); a directory is never
// replaced (EISDIR), nor is a FIFO, socket or device (ENXIO, what a non-blocking open
// gives: they have no content to replace, and replacing the node breaks its users).
//
// The kernel resolves every path, never `path.resolve`: a link's text is appended to
// the real directory holding the link, and the directory part of that is resolved by
// `realpath` (physically: `sub/..` is the parent of where `sub` leads, not `.`). Only
// the last component is looked at by hand, so that a dangling link still leads to the
// file to create.
import * as fs from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { systemError } from '../../errors';
import { hasCode, naming } from '../fs-error';

export interface Existing {
  /** Permission bits, kept by the new file unless `mode` is given. */
  mode: number;
  uid: number;
  gid: number;
}

export interface Target {
  /** The path the caller gave; errors name it. */
  given: string;
  /** The entry to replace, in its real directory: `given`, or where its symlinks lead. */
  path: string;
  /** The regular file being replaced, if there is one. */
  existing: Existing | undefined;
  /** Something is at `path` (of any kind; only without following links is it not a file). */
  exists: boolean;
}

/** Linux's limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;

const SEPARATORS = process.platform === 'win32' ? /[\\/]/ : /\//;

/** The last component of `text` as open(2) sees it. */
type Last = { kind: 'name'; parent: string; name: string } | { kind: 'trailing-slash'; parent: string } | { kind: 'dots' };

function lastComponent(text: string): Last {
  let end = text.length;
  while (end > 0 && SEPARATORS.test(text[end - 1]!)) end--;
  const trimmed = text.slice(0, end);
  let cut = trimmed.length;
  while (cut > 0 && !SEPARATORS.test(trimmed[cut - 1]!)) cut--;
  const parent = trimmed.slice(0, cut);
  const name = trimmed.slice(cut);
  if (name === '' || name === '.' || name === '..') return { kind: 'dots' };
  if (end < text.length) return { kind: 'trailing-slash', parent };
  return { kind: 'name', parent, name };
}

/** `text` relative to the real directory `base` (undefined: the working directory), as text. */
function under(base: string | undefined, text: string): string {
  if (base === undefined || isAbsolute(text)) return text === '' ? '.' : text;
  return text === '' ? base : `${base}${sep}${text}`;
}

/** Resolution fails where `fs.writeFile` would: at its open. */
function openError(err: unknown, given: string): unknown {
  return naming(err, given, false, 'open');
}

function code(code: string, given: string): Error {
  return systemError({ code, syscall: 'open', path: given });
}

/**
 * The resolution is written once, as a generator that yields each system call it needs
 * (`{ call, path }`) and receives the answer; the sync and async drivers below make the
 * calls. An lstat of a missing entry answers undefined.
 */
type Call = 'realpath' | 'stat' | 'lstat' | 'readlink';
type Steps<T> = Generator<{ call: Call; path: string }, T, unknown>;

/**
 * Where `text` (relative to `base`) puts its last component: the real path of its
 * directory, and the entry's path in it. A last component that is not a name (`f/`,
 * `f/.`, `..`) fails as open(O_CREAT) fails on it: the directory part's error, else
 * EISDIR (ENOTDIR when a trailing slash follows a name in a file, as the kernel says;
 * EEXIST for an existing `.` when not following, as with O_EXCL).
 */
function* locate(given: string, base: string | undefined, text: string, follow: boolean): Steps<{ dir: string; path: string }> {
  const last = lastComponent(text);
  if (last.kind === 'dots') {
    yield { call: 'stat', path: under(base, text) };
    // An existing directory: what open(O_CREAT) refuses, and what O_EXCL finds existing.
    throw code(follow ? 'EISDIR' : 'EEXIST', given);
  }
  const dir = (yield { call: 'realpath', path: under(base, last.parent) }) as string;
  if (last.kind === 'trailing-slash') {
    const stat = (yield { call: 'stat', path: dir }) as fs.Stats;
    throw code(stat.isDirectory() ? 'EISDIR' : 'ENOTDIR', given);
  }
  return { dir, path: join(dir, last.name) };
}

function* resolve(given: string, follow: boolean): Steps<Target> {
  let base: string | undefined;
  let text = given;
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    const { dir, path } = yield* locate(given, base, text, follow);
    const stat = (yield { call: 'lstat', path }) as fs.Stats | undefined;
    if (stat === undefined) return { given, path, existing: undefined, exists: false };
    if (stat.isFile()) return { given, path, existing: { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid }, exists: true };
    if (!follow) return { given, path, existing: undefined, exists: true };
    if (stat.isDirectory()) throw code('EISDIR', given);
    if (!stat.isSymbolicLink()) throw code('ENXIO', given);
    // The link's text is relative to the (real) directory holding the link.
    text = (yield { call: 'readlink', path }) as string;
    base = dir;
  }
  throw systemError({ code: 'ELOOP', syscall: 'open', path: given });
}

const syncCalls: Record<Call, (path: string) => unknown> = {
  realpath: (path) => fs.realpathSync.native(path),
  stat: (path) => fs.statSync(path),
  lstat: (path) => fs.lstatSync(path, { throwIfNoEntry: false }),
  readlink: (path) => fs.readlinkSync(path),
};

const asyncCalls: Record<Call, (path: string) => Promise<unknown>> = {
  realpath: (path) => fs.promises.realpath(path),
  stat: (path) => fs.promises.stat(path),
  lstat: (path) => fs.promises.lstat(path).catch((err: unknown) => (hasCode(err, 'ENOENT') ? undefined : Promise.reject(err))),
  readlink: (path) => fs.promises.readlink(path),
};

/** Finds what writing to `given` replaces (see `resolveTarget`). */
export function resolveTargetSync(given: string, follow: boolean): Target {
  const steps = resolve(given, follow);
  let next = steps.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = syncCalls[next.value.call](next.value.path);
    } catch (err) {
      throw openError(err, given);
    }
    next = steps.next(answer);
  }
  return next.value;
}

/**
 * Finds what writing to `given` replaces. With `follow`, symlinks in the last component
 * are followed (at most 40, then ELOOP) as `fs.writeFile` does; without, any entry at
 * `given` is the answer (`exists`), as `open(O_CREAT | O_EXCL)` decides.
 */
export async function resolveTarget(given: string, follow: boolean): Promise<Target> {
  const steps = resolve(given, follow);
  let next = steps.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = await asyncCalls[next.value.call](next.value.path);
    } catch (err) {
      throw openError(err, given);
    }
    next = steps.next(answer);
  }
  return next.value;
}

/** noClobber decides "exists" like O_CREAT | O_EXCL: any entry at the path is EEXIST. */
export function refuseExisting(target: Target, settings: { noClobber: boolean }): Target {
  if (settings.noClobber && target.exists) throw code('EEXIST', target.given);
  return target;
}
