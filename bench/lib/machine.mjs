// @ts-check
// What the suite ran on, recorded beside every result.
import { execFileSync } from 'node:child_process';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';

/** A command's trimmed output, or undefined when it fails or is missing. */
function run(/** @type {string} */ cmd, /** @type {string[]} */ args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Filesystem type and device of the directory the files are written in. */
export function filesystemOf(/** @type {string} */ dir) {
  const found = run('findmnt', ['-n', '-o', 'FSTYPE,SOURCE,OPTIONS', '-T', dir]);
  if (found) {
    const [type, source, options] = found.split(/\s+/);
    return { type, source, options };
  }
  const df = run('df', ['-T', dir])?.split('\n')[1]?.split(/\s+/);
  return df ? { type: df[1], source: df[0] } : { type: 'unknown' };
}

/** @returns {import('./types.d.mts').Machine} */
export function machine(/** @type {string} */ dir) {
  const cpu = cpus();
  const commit = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no', '--', 'ts', 'crates']);
  return {
    date: new Date().toISOString(),
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    dir,
    filesystem: filesystemOf(dir),
    loadAverageAtStart: loadavg(),
    commit: commit ? `${commit}${dirty ? ' (modified)' : ''}` : undefined,
  };
}
