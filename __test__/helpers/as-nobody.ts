// Children that run as another user (uid 65534), for the tests where root's disregard of
// permission bits would hide the behaviour under test. That user must be able to reach the
// package it loads: a checkout under a private directory (mode 0700: /root, a home, a
// `mktemp -d`) is out of its reach, so those children load a copy of the built package
// made once per test process in a world-readable temporary directory.
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { ROOT } from './spawn';

/** `setpriv` arguments that run the rest of the command line as uid/gid 65534. */
export const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

let copy: string | undefined;

/**
 * How to start a child that permission bits apply to: as root, behind AS_NOBODY and from
 * a package root uid 65534 can read; otherwise as this user, from this checkout.
 */
export function unprivileged(): { wrapper: readonly string[]; root: string } {
  return process.getuid?.() === 0 ? { wrapper: AS_NOBODY, root: packageRootForNobody() } : { wrapper: [], root: ROOT };
}

/** A package root with `dist/`, the addon and `__test__/fixtures/` that uid 65534 can read. */
export function packageRootForNobody(): string {
  if (reachableByOthers(ROOT)) return ROOT;
  copy ??= copyPackage();
  return copy;
}

/** Whether every directory from `/` down to `dir` lets other users through (`o+x`). */
export function reachableByOthers(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (at === parse(at).root) return true;
  }
}

function copyPackage(): string {
  const to = mkdtempSync(join(tmpdir(), 'cfs-readable-')); // mode 0700: opened below
  const parts = ['package.json', 'dist', join('__test__', 'fixtures'), join('node_modules', '@napi-rs', 'triples')];
  for (const part of parts) cpSync(join(ROOT, part), join(to, part), { recursive: true, dereference: true });
  for (const name of readdirSync(ROOT).filter((n) => n.endsWith('.node'))) cpSync(join(ROOT, name), join(to, name));
  if (!existsSync(join(to, 'dist', 'native.js'))) throw new Error(`copying the package to '${to}' failed`);
  openForOthers(to);
  process.once('exit', () => rmSync(to, { recursive: true, force: true }));
  return to;
}

/** a+rX over the copy (the files came from a private tree and keep its modes). */
function openForOthers(dir: string): void {
  const walk = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      chmod(path, stat.mode | 0o555);
      for (const name of readdirSync(path)) walk(join(path, name));
    } else chmod(path, stat.mode | 0o444);
  };
  walk(dir);
}

function chmod(path: string, mode: number): void {
  chmodSync(path, mode & 0o7777);
}
