// The power-cut filesystem (crates/powercut-fs, docs/power-cut.md): built on demand with
// cargo, mounted over a backing directory, cut and unmounted through its stdin.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Child, ROOT, start } from './spawn';

/** Why the power-cut tests cannot run here, or undefined when they can. */
export const FUSE_MISSING: string | undefined = fuseMissing();

function fuseMissing(): string | undefined {
  if (process.platform !== 'linux') return 'the power-cut filesystem is Linux FUSE';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  if (!have('fusermount3')) return 'no fusermount3 (Debian package fuse3)';
  if (!have('cargo')) return 'no cargo to build crates/powercut-fs';
  return undefined;
}

let binary: string | undefined;

/**
 * Builds the filesystem (the dev profile: seconds when `cargo test --workspace` already
 * compiled its dependencies, as `npm test` has) and returns its path. Once per process.
 */
export function powercutBinary(): string {
  if (binary) return binary;
  const built = spawnSync('cargo', ['build', '--quiet', '-p', 'powercut-fs'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`cargo build -p powercut-fs failed: ${built.stderr}`);
  binary = join(ROOT, 'target', 'debug', 'powercut-fs');
  return binary;
}

/** A mounted power-cut filesystem. */
export interface PowerCutMount {
  readonly mountpoint: string;
  /** Cuts the power: the durable image is frozen now, every later operation fails with EIO. */
  cut(): Promise<void>;
  /** Unmounts; after a cut the backing directory becomes the durable image. */
  exit(): Promise<void>;
}

/** Mounts `backing` at `mountpoint`; resolves once the filesystem says it is ready. */
export async function mountPowerCut(backing: string, mountpoint: string, prefixSeed?: number): Promise<PowerCutMount> {
  const args = prefixSeed === undefined ? [] : ['--prefix-seed', String(prefixSeed)];
  const child = start([powercutBinary(), ...args, backing, mountpoint], { label: 'powercut-fs' });
  await expectLine(child, 'ready');
  return {
    mountpoint,
    cut: async () => {
      child.send('cut');
      await expectLine(child, 'cut');
    },
    exit: async () => {
      child.send('exit');
      const line = await child.nextLine();
      if (!line.startsWith('exited')) throw new Error(`powercut-fs: expected 'exited', got '${line}'`);
      const end = await child.exited;
      if (end.code !== 0) throw new Error(`powercut-fs exited ${end.code ?? end.signal}: ${end.stderr}`);
      // A killed daemon would leave a dead mount behind; a detached unmount of nothing is harmless.
      spawnSync('umount', ['-l', mountpoint]);
    },
  };
}

async function expectLine(child: Child, expected: string): Promise<void> {
  const line = await child.nextLine();
  if (line !== expected) throw new Error(`powercut-fs: expected '${expected}', got '${line}'`);
}
