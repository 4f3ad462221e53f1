// Small file trees described as data, for the hostile-path tests: build one (files,
// directories with modes, symlinks, hard links, FIFOs, sockets), and read one back as
// a flat snapshot to compare trees built from the same description.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';

/** `<ROOT>` in a link's text stands for the tree's root (each copy has its own). */
export const ROOT_MARK = '<ROOT>';

export type Entry =
  | { kind: 'file'; content: string }
  | { kind: 'dir'; mode?: number }
  | { kind: 'symlink'; text: string }
  | { kind: 'hardlink'; of: string }
  | { kind: 'fifo' }
  | { kind: 'socket' };

/** Entries by path (relative, '/'-separated), created in order. */
export type Tree = [string, Entry][];

/** Builds `tree` under `root`; the returned servers keep its sockets bound until closed. */
export async function build(root: string, tree: Tree): Promise<Server[]> {
  const servers: Server[] = [];
  const modes: [string, number][] = [];
  fs.mkdirSync(root, { recursive: true });
  for (const [rel, entry] of tree) {
    const path = join(root, rel);
    fs.mkdirSync(dirname(path), { recursive: true });
    switch (entry.kind) {
      case 'file':
        fs.writeFileSync(path, entry.content);
        break;
      case 'dir':
        fs.mkdirSync(path, { recursive: true });
        if (entry.mode !== undefined) modes.push([path, entry.mode]);
        break;
      case 'symlink':
        fs.symlinkSync(entry.text.replaceAll(ROOT_MARK, root), path);
        break;
      case 'hardlink':
        fs.linkSync(join(root, entry.of), path);
        break;
      case 'fifo':
        execFileSync('mkfifo', [path]);
        break;
      case 'socket': {
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(path, resolve);
        });
        servers.push(server);
        break;
      }
    }
  }
  // Modes last, deepest first: a read-only directory must still be filled first.
  for (const [path, mode] of modes.reverse()) fs.chmodSync(path, mode);
  return servers;
}

/** Every entry under `root` as one line of text: type, mode, content or link text. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = prefix + name;
      const stat = fs.lstatSync(path);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(path).replaceAll(root, ROOT_MARK)}`;
      else if (stat.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(path, `${rel}/`);
      } else if (stat.isFile()) out[rel] = `file ${mode} ${fs.readFileSync(path, 'utf8')}`;
      else if (stat.isFIFO()) out[rel] = `fifo ${mode}`;
      else if (stat.isSocket()) out[rel] = 'socket';
      else out[rel] = 'other';
    }
  };
  walk(root, '');
  return out;
}

/** Names of temp files (`.<name>.<12 hex>.tmp`) anywhere in a snapshot. */
export function tempFiles(snap: Record<string, string>): string[] {
  return Object.keys(snap).filter((rel) => /(^|\/)\.[^/]+\.[0-9a-f]{12}\.tmp$/.test(rel));
}

export async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
}
