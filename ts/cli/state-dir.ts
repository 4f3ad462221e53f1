// Where `task`, `events` and `port` keep their files when not told: beside a workspace's
// shared state ($CFS_STATE_DIR, which `ws run` exports), else in the current repository's
// `<git-common-dir>/concurrent-fs/`, as API.md's workspaces do. Outside both, the caller
// must say where (--dir / --log).
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { UsageError } from './args';

function gitCommonDir(): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() || undefined;
  } catch {
    return undefined; // not a repository, or no git
  }
}

/** `given` (resolved), else `<state dir>/<name>`; `flag` names the option in the error. */
export function stateDir(given: string | undefined, name: string, flag: string): string {
  if (given !== undefined) return resolve(given);
  const env = process.env.CFS_STATE_DIR;
  if (env) return join(env, name);
  const common = gitCommonDir();
  if (common) return join(common, 'concurrent-fs', name);
  throw new UsageError(`not in a git repository and CFS_STATE_DIR is not set: give ${flag}`);
}
