// Running the installed `git`: one place that spawns it, checks its version once, and turns
// a failed run into an error that says what ran, where, and what git printed.
import { spawn } from 'node:child_process';

/** What a finished git run printed. */
export interface GitResult {
  /** What git wrote to stdout. */
  readonly stdout: string;
  /** What git wrote to stderr. */
  readonly stderr: string;
  /** git's exit status. */
  readonly exitCode: number;
}

/** Options of `runGit`. */
export interface RunGitOptions {
  /** Working directory of git. */
  cwd: string;
  /** Extra environment (merged over `process.env`). */
  env?: Record<string, string>;
  /** Written to git's stdin, which is then closed. Without it stdin is `/dev/null`. */
  input?: string;
  /**
   * Descriptors git inherits as fd 3, 4, ...: a workspace's lease, so the lease stays held
   * for as long as any git process working there lives (see docs/workspaces.md).
   */
  inherit?: readonly number[];
  /** Resolve with a non-zero `exitCode` instead of rejecting. */
  allowFailure?: boolean;
  /** Kills git (SIGTERM) and rejects with an AbortError when aborted. */
  signal?: AbortSignal;
}

/** The oldest git with everything used here: `merge-tree --write-tree` (2.38). */
export const MIN_GIT_VERSION: readonly [number, number] = [2, 38];

/** A git command that failed: `code` `'EGIT'`, with `args`, `cwd`, `exitCode`, `stderr`. */
export class GitError extends Error {
  /** Always `'GitError'`. */
  override readonly name = 'GitError';
  /** Always `'EGIT'`. */
  readonly code = 'EGIT';
  /** @internal */
  constructor(
    /** git's arguments. */
    readonly args: readonly string[],
    /** Where git ran. */
    readonly cwd: string,
    /** git's exit status. */
    readonly exitCode: number,
    /** What git wrote to stdout. */
    readonly stdout: string,
    /** What git wrote to stderr. */
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode}) in '${cwd}': ${stderr.trim() || stdout.trim()}`);
  }
}

/** The installed git is missing or older than `MIN_GIT_VERSION`: `code` `'EGITVERSION'`. */
export class GitVersionError extends Error {
  /** Always `'GitVersionError'`. */
  override readonly name = 'GitVersionError';
  /** Always `'EGITVERSION'`. */
  readonly code = 'EGITVERSION';
  /** @internal */
  constructor(
    /** The version found (`'2.30.1'`), undefined when there is no git on PATH. */
    readonly found: string | undefined,
  ) {
    super(
      found === undefined
        ? `EGITVERSION: git was not found on PATH; concurrent-fs workspaces need git ${MIN_GIT_VERSION.join('.')} or later`
        : `EGITVERSION: git ${found} is too old; concurrent-fs workspaces need git ${MIN_GIT_VERSION.join('.')} or later`,
    );
  }
}

/** Runs `git ARGS` and collects its output; rejects with `GitError` on a non-zero exit. */
export function runGit(args: readonly string[], options: RunGitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const inherit = options.inherit ?? [];
    const child = spawn('git', [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...gitEnv, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...inherit],
      signal: options.signal,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (options.input !== undefined) {
      // A git that exits before reading its input must not become an unhandled EPIPE.
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = {
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
        exitCode: code ?? 128,
      };
      if (result.exitCode === 0 || options.allowFailure) resolve(result);
      else reject(new GitError(args, options.cwd, result.exitCode, result.stdout, result.stderr));
    });
  });
}

/** Git must never stop to ask a question: there is nobody to answer it. */
const gitEnv: Record<string, string> = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_EDITOR: 'true',
  GIT_MERGE_AUTOEDIT: 'no',
  LC_ALL: 'C',
};

let versionCheck: Promise<void> | undefined;

/** Rejects with `GitVersionError` unless the git on PATH is `MIN_GIT_VERSION` or later (checked once). */
export function requireGit(): Promise<void> {
  versionCheck ??= checkVersion();
  return versionCheck;
}

async function checkVersion(): Promise<void> {
  let text: string;
  try {
    text = (await runGit(['--version'], { cwd: process.cwd() })).stdout;
  } catch {
    versionCheck = undefined; // PATH may be fixed later in this process
    throw new GitVersionError(undefined);
  }
  const found = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  const [major, minor] = [Number(found?.[1]), Number(found?.[2])];
  const [needMajor, needMinor] = MIN_GIT_VERSION;
  if (!found || major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new GitVersionError(found?.[0] ?? text.trim());
  }
}
