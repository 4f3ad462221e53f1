// The `concurrent-fs` command line, run as real processes against dist/cli.js.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, startCli } from './helpers/cli';
import { load } from './helpers/impls';
import { run, runSync, startNode } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';

// The CLI runs the native implementation (see startCli), so the test holds native locks.
const cfs = load('native');

/** Body lines in one locked section of the interleaving test. */
const BODY = 3000;

/** The first line of `block` that is not `start tag`, `body tag`..., `end tag` in order. */
function firstIntruder(block: string[], tag: string): string | undefined {
  const expected = (i: number) => (i === 0 ? `start ${tag}` : i === block.length - 1 ? `end ${tag}` : `body ${tag}`);
  const at = block.findIndex((line, i) => line !== expected(i));
  return at < 0 ? undefined : `line ${at}: '${block[at]}'`;
}

/** Runs `sh -c script`; resolves with its exit status and stderr. */
async function runShell(script: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const { code, stderr } = await run(['sh', '-c', script], { env });
  return { code, stderr };
}

describe('concurrent-fs lock', () => {
  it('4 shells x 5 runs append 3002-line blocks to one file under the lock: blocks never interleave', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.txt');
    // One locked section: a start line, 3000 body lines and an end line, each its own small
    // append. Long enough that without the lock, sections overlap in every run of this test.
    const section = join(dir, 'section.sh');
    writeFileSync(
      section,
      `echo "start $1" >> "$OUT"\ni=0\nwhile [ $i -lt ${BODY} ]; do echo "body $1" >> "$OUT"; i=$((i+1)); done\necho "end $1" >> "$OUT"\n`,
    );
    const loop = 'i=0; while [ $i -lt 5 ]; do "$NODE" "$CLI" lock "$LOCK" -- sh "$SECTION" "$ID.$i" || exit 1; i=$((i+1)); done';
    const env = { NODE: process.execPath, CLI, LOCK: join(dir, 'out.lock'), SECTION: section, OUT: out };
    const shells = ['a', 'b', 'c', 'd'].map((id) => runShell(loop, { ...env, ID: id }));
    for (const shell of await Promise.all(shells)) expect(shell).toEqual({ code: 0, stderr: '' });

    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4 * 5 * (BODY + 2));
    const tags = new Set<string>();
    for (let at = 0; at < lines.length; at += BODY + 2) {
      const tag = lines[at]!.replace(/^start /, '');
      expect(firstIntruder(lines.slice(at, at + BODY + 2), tag), `block at line ${at}`).toBeUndefined();
      tags.add(tag);
    }
    expect(tags.size).toBe(20);
  });

  it('a held lock with --timeout 100 exits 75 after about 100 ms', async () => {
    const dir = tempDir();
    const path = join(dir, 'held.lock');
    const held = new cfs.FileLock(path);
    held.acquireSync();
    try {
      const run = await runCli(['lock', '--timeout', '100', path, '--', 'sh', '-c', 'echo ran']);
      expect(run.code).toBe(75);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`'${path}' is held by another process; gave up after 100 ms`);
      // The whole process's life: Node's start-up plus the 100 ms wait.
      expect(run.ms).toBeGreaterThanOrEqual(100);
      expect(run.ms).toBeLessThan(1000);
    } finally {
      held.release();
    }
  });

  it("exits with the command's status, and 128+N when signal N killed it", async () => {
    const lockFile = join(tempDir(), 'x.lock');
    expect((await runCli(['lock', lockFile, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await runCli(['lock', lockFile, '--', 'sh', '-c', 'kill -KILL $$'])).code).toBe(128 + 9);
    expect((await runCli(['lock', lockFile, '--', 'sh', '-c', 'kill -TERM $$'])).code).toBe(128 + 15);
    const missing = await runCli(['lock', lockFile, '--', 'no-such-command-cfs']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("cannot run 'no-such-command-cfs'");
  });

  it('passes stdio through and holds the lock while the command runs', async () => {
    const lockFile = join(tempDir(), 'x.lock');
    const probe = `node -e "process.stdout.write(String(new (require('${CLI.replace(/cli\.js$/, 'native.js')}').FileLock)(process.argv[1]).tryAcquire()))" "${lockFile}"`;
    const run = await runCli(['lock', lockFile, '--', 'sh', '-c', `cat; echo; ${probe}`], { input: 'from stdin' });
    expect(run).toMatchObject({ code: 0, stdout: 'from stdin\nfalse' });
  });

  it('SIGTERM to the CLI ends the command and frees the lock', async () => {
    const lockFile = join(tempDir(), 'x.lock');
    const cli = startCli(['lock', lockFile, '--', process.execPath, '-e', 'console.log(process.pid); setInterval(() => {}, 1000)']);
    const pid = Number((await cli.output(/^(\d+)\n/))[1]);
    const probe = new cfs.FileLock(lockFile);
    expect(probe.tryAcquire()).toBe(false);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(128 + 15);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(probe.tryAcquire()).toBe(true);
    probe.release();
  });

  it('like flock(1), COMMAND inherits the lock: a background process it leaves behind keeps it', async () => {
    const lockFile = join(tempDir(), 'x.lock');
    const run = await runCli(['lock', lockFile, '--', 'sh', '-c', 'sleep 60 </dev/null >/dev/null 2>&1 & echo $!']);
    const orphan = Number(run.stdout.trim());
    expect(orphan, run.stderr).toBeGreaterThan(0); // never kill(0): that is our own process group
    const probe = new cfs.FileLock(lockFile);
    try {
      expect(run.code).toBe(0);
      expect(probe.tryAcquire()).toBe(false); // the orphan holds the locked descriptor
    } finally {
      process.kill(orphan, 'SIGKILL');
    }
    await probe.acquire({ timeout: 10_000 }); // free once the orphan is gone
    probe.release();
  });

  it('--close keeps the lock with the CLI: a background process the command leaves behind does not keep it', async () => {
    for (const flag of ['--close', '-o']) {
      const lockFile = join(tempDir(), 'x.lock');
      const run = await runCli(['lock', flag, lockFile, '--', 'sh', '-c', 'sleep 60 </dev/null >/dev/null 2>&1 & echo $!']);
      const orphan = Number(run.stdout.trim());
      expect(orphan, run.stderr).toBeGreaterThan(0); // never kill(0): that is our own process group
      try {
        expect(run.code).toBe(0);
        expect(() => process.kill(orphan, 0)).not.toThrow(); // still running...
        const probe = new cfs.FileLock(lockFile);
        expect(probe.tryAcquire()).toBe(true); // ...and yet the lock is free
        probe.release();
      } finally {
        process.kill(orphan, 'SIGKILL');
      }
    }
  });

  // COMMAND for the kill tests: prints its pid, then runs until signalled. (Not until a
  // line on stdin: Node closes a child's stdin pipe when the child, here the CLI, exits.)
  const runsUntilKilled = [process.execPath, '-e', "console.log('running ' + process.pid); setInterval(() => {}, 1e9)"];
  const tryLock = (lockFile: string) => runCli(['lock', '--timeout', '0', lockFile, '--', 'true']);

  it('the CLI SIGKILLed while COMMAND runs: the lock stays with COMMAND until it ends', async () => {
    const lockFile = join(tempDir(), 'x.lock');
    const cli = startCli(['lock', lockFile, '--', ...runsUntilKilled]);
    const command = Number((await cli.output(/running (\d+)\n/))[1]);
    const wrapperGone = new Promise((resolve) => cli.child.once('exit', resolve));
    cli.child.kill('SIGKILL');
    await wrapperGone;
    // COMMAND still runs (it shares the CLI's stdin and stdout pipes, so `exited` waits for it).
    const second = await tryLock(lockFile);
    expect(second.code, second.stderr).toBe(75);
    expect(second.stderr).toContain('is held by another process');
    process.kill(command, 'SIGTERM');
    await cli.exited; // COMMAND has closed its end of the pipes: it has exited
    expect((await tryLock(lockFile)).code).toBe(0);
  });

  it('with --close, the lock dies with the CLI: a second lock gets it while COMMAND still runs', async () => {
    const lockFile = join(tempDir(), 'x.lock');
    const cli = startCli(['lock', '--close', lockFile, '--', ...runsUntilKilled]);
    const command = Number((await cli.output(/running (\d+)\n/))[1]);
    const wrapperGone = new Promise((resolve) => cli.child.once('exit', resolve));
    cli.child.kill('SIGKILL');
    await wrapperGone;
    expect((await tryLock(lockFile)).code).toBe(0);
    process.kill(command, 'SIGTERM');
    await cli.exited;
  });

  /** COMMAND for the signal tests: counts SIGINTs, prints the count at SIGTERM and exits. */
  const COUNT_SIGINTS = [
    'let n = 0;',
    "process.on('SIGINT', () => console.log('sigint ' + ++n));",
    "process.on('SIGTERM', () => { console.log('count ' + n); process.exit(0); });",
    "console.log('ready ' + process.ppid);",
    'setInterval(() => {}, 1000);',
  ].join(' ');

  // Standard signals pending together are delivered lowest number first, and the CLI
  // passes signals on in the order it got them: when COMMAND sees the SIGTERM sent after
  // the SIGINT, any SIGINT the CLI passed on has already arrived.
  it('SIGINT sent to the CLI alone (kill PID, no terminal) reaches COMMAND once', async () => {
    const cli = startCli(['lock', join(tempDir(), 'x.lock'), '--', process.execPath, '-e', COUNT_SIGINTS]);
    await cli.output(/ready \d+\n/);
    cli.child.kill('SIGINT');
    await cli.output(/sigint 1\n/);
    cli.child.kill('SIGTERM');
    const run = await cli.exited;
    expect(run.stdout).toMatch(/count 1\n/);
    expect(run.code).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')("a terminal's Ctrl-C (SIGINT to the whole process group) reaches COMMAND once", async () => {
    const lockFile = join(tempDir(), 'x.lock');
    const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
    const command = ['exec', process.execPath, CLI, 'lock', lockFile, '--', process.execPath, '-e', COUNT_SIGINTS].map(quote).join(' ');
    // util-linux script(1) runs the command on a new pseudo-terminal, in its foreground
    // process group; ^C written to script's stdin is typed on that terminal.
    const terminal = startNode(
      `const t = require('node:child_process').spawn('script', ['-qec', ${JSON.stringify(command)}, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
       t.stdout.pipe(process.stdout); process.stdin.pipe(t.stdin); t.on('exit', (code) => process.exit(code ?? 1));`,
    );
    const wrapper = Number(/^ready (\d+)/.exec((await terminal.nextLine()).trim())![1]);
    expect(wrapper).toBeGreaterThan(1);
    const lineMatching = async (pattern: RegExp) => {
      for (;;) {
        const line = await terminal.nextLine();
        if (pattern.test(line)) return line;
      }
    };
    terminal.send('\x03');
    await lineMatching(/sigint 1/); // the terminal echoes ^C too
    process.kill(wrapper, 'SIGTERM');
    expect(await lineMatching(/count \d+/)).toMatch(/count 1\r?$/);
    terminal.process.stdin.end();
    await terminal.exited;
  });
});

const hasFlock = runSync(['flock', '--version']).code === 0;

describe.skipIf(!hasFlock)('concurrent-fs lock speaks util-linux flock(1)', () => {
  /** Runs the same arguments through flock(1) and through `concurrent-fs lock`. */
  const both = (args: string[]) => {
    const env = { SHELL: '/bin/sh', CONCURRENT_FS_IMPL: undefined };
    return { flock: runSync(['flock', ...args], { env }), ours: runSync([process.execPath, CLI, 'lock', ...args], { env }) };
  };

  /** Runs `fn` while this process holds `path` (native locks are flock(2) locks, as flock(1)'s). */
  const holding = <T>(path: string, shared: boolean, fn: () => T): T => {
    const held = new cfs.FileLock(path, { shared });
    held.acquireSync();
    try {
      return fn();
    } finally {
      held.release();
    }
  };

  it('-n, -w SECONDS and -E CODE on a held lock: the same status as flock(1)', () => {
    const path = join(tempDir(), 'x.lock');
    holding(path, false, () => {
      for (const args of [
        ['-n', '-E', '9'],
        ['-w', '0.05', '-E', '9'],
        ['-w0.05', '-E9'],
        ['-nE', '9'],
        ['-s', '-n', '-E', '9'],
        ['-x', '-n', '-E', '9'],
      ]) {
        const { flock, ours } = both([...args, path, 'true']);
        expect([ours.code, flock.code], args.join(' ')).toEqual([9, 9]);
      }
      // Without -E, flock(1) says 1 and we say 75 (EX_TEMPFAIL), as API.md fixes.
      const { flock, ours } = both(['-n', path, 'true']);
      expect([ours.code, flock.code]).toEqual([75, 1]);
    });
  });

  it('-s: shared holders coexist; -x waits for them', () => {
    const path = join(tempDir(), 'x.lock');
    holding(path, true, () => {
      for (const [args, status] of [
        [['-s', '-n'], 0],
        [['-x', '-n', '-E', '9'], 9],
        [['-n', '-E', '9'], 9],
      ] as const) {
        const { flock, ours } = both([...args, path, 'true']);
        expect([ours.code, flock.code], args.join(' ')).toEqual([status, status]);
      }
    });
  });

  it('LOCKFILE COMMAND without --: what follows LOCKFILE is the command, options included', () => {
    const path = join(tempDir(), 'x.lock');
    const { flock, ours } = both([path, 'echo', 'c', '-x', '-h', '--', '-n']);
    expect(flock).toMatchObject({ code: 0, stdout: 'c -x -h -- -n\n' });
    expect(ours).toMatchObject({ code: 0, stdout: flock.stdout });
  });

  it("-c 'shell command' runs it with $SHELL; -c takes exactly one argument", () => {
    const path = join(tempDir(), 'x.lock');
    const script = 'printf "%s|" "$0" one two; exit 3';
    const { flock, ours } = both([path, '-c', script]);
    expect(flock).toMatchObject({ code: 3, stdout: '/bin/sh|one|two|' });
    expect(ours).toMatchObject({ code: 3, stdout: flock.stdout });
    const extra = both([path, '-c', 'true', 'extra']);
    expect(extra.flock.code).not.toBe(0);
    expect(extra.ours.code).toBe(2);
    for (const run of [extra.flock, extra.ours]) expect(run.stderr).toContain('-c requires exactly one command argument');
  });
});

const isTemp = (name: string) => /^\..*\.tmp$/.test(name);

/** Polls `dir` (every few ms, for at most 10 s) until a temp file with some bytes shows up. */
async function tempFileWithData(dir: string): Promise<string> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const temp = readdirSync(dir).find(isTemp);
    if (temp && statSync(join(dir, temp)).size > 0) return temp;
    await delay(5);
  }
  throw new Error(`no temp file with data appeared in ${dir}`);
}

describe('concurrent-fs write', () => {
  it('10 MiB piped in equals the file byte for byte', async () => {
    const dir = tempDir();
    const path = join(dir, 'big.bin');
    const data = randomBytes(10 * 1024 * 1024);
    const run = await runCli(['write', '--durability', 'data', path], { input: data });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(names(dir)).toEqual(['big.bin']);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s mid-stream: the old file is intact and no temp file is left', async (signal) => {
    const dir = tempDir();
    const path = join(dir, 'doc.txt');
    writeFileSync(path, 'old content');
    const cli = startCli(['write', path]);
    cli.child.stdin.write(Buffer.alloc(256 * 1024, 'n')); // and stdin stays open
    await tempFileWithData(dir);
    cli.child.kill(signal);
    const run = await cli.exited;
    expect(run.code).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(names(dir)).toEqual(['doc.txt']);
  });

  it('--no-clobber on an existing file exits non-zero with a clear message, the file untouched', async () => {
    const dir = tempDir();
    const path = join(dir, 'doc.txt');
    writeFileSync(path, 'first');
    const run = await runCli(['write', '--no-clobber', path], { input: 'second' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`concurrent-fs write: '${path}' already exists (EEXIST); --no-clobber left it as it was\n`);
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(names(dir)).toEqual(['doc.txt']);
    // A new file is written all the same.
    expect((await runCli(['write', '--no-clobber', join(dir, 'new.txt')], { input: 'new' })).code).toBe(0);
    expect(readFileSync(join(dir, 'new.txt'), 'utf8')).toBe('new');
  });

  it('--mode sets the permission bits exactly', async () => {
    const path = join(tempDir(), 'secret.txt');
    expect((await runCli(['write', '--mode', '600', path], { input: 'x' })).code).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a write that fails (no such directory) exits 1 with the OS error', async () => {
    const path = join(tempDir(), 'missing', 'doc.txt');
    const run = await runCli(['write', path], { input: 'x' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^concurrent-fs write: ENOENT/);
  });
});

describe('concurrent-fs id', () => {
  const lines = (stdout: string) => stdout.trimEnd().split('\n');

  it('--count 100000 prints 100000 distinct, increasing snowflake IDs', async () => {
    const run = await runCli(['id', '--count', '100000']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const ids = lines(run.stdout).map(BigInt);
    expect(ids).toHaveLength(100_000);
    for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) throw new Error(`not increasing at ${i}`);
  });

  it('--count 100000 --format uuidv7 prints 100000 distinct, increasing UUIDv7s', async () => {
    const run = await runCli(['id', '--count', '100000', '--format', 'uuidv7']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const ids = lines(run.stdout);
    expect(ids).toHaveLength(100_000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) throw new Error(`not increasing at ${i}`);
  });

  it('prints one ID by default; --worker sets the worker field', async () => {
    const run = await runCli(['id', '--worker', '5']);
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toHaveLength(1);
    expect(cfs.Snowflake.parse(run.stdout.trim()).workerId).toBe(5);
  });

  it('--lease DIR takes the lowest worker ID no live process holds', async () => {
    const dir = tempDir();
    const held = await cfs.leaseWorkerId(dir);
    try {
      expect(held.id).toBe(0);
      const run = await runCli(['id', '--lease', dir, '--count', '3']);
      expect(run.code).toBe(0);
      for (const id of lines(run.stdout)) expect(cfs.Snowflake.parse(id).workerId).toBe(1);
    } finally {
      held.release();
    }
  });

  it('a reader that stops early (| head) ends the output quietly', async () => {
    const cli = startCli(['id', '--count', '50000000']);
    await cli.output(/\n/);
    cli.child.stdout.destroy();
    const run = await cli.exited;
    expect(run).toMatchObject({ code: 0, signal: null, stderr: '' });
  });
});

describe.each(['native', 'js'] as const)('concurrent-fs demo --impl %s', (impl) => {
  it('--workers 3 --updates 100 exits 0 and reports the exact counters', async () => {
    const dir = join(tempDir(), 'store');
    const run = await runCli(['demo', '--workers', '3', '--updates', '100', '--ids', '20000', '--dir', dir, '--impl', impl]);
    expect(run.stderr).not.toContain('FAIL');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${impl} implementation`);
    expect(run.stdout).toMatch(/ok {4}all 3 workers finished/);
    expect(run.stdout).toMatch(/ok {4}locked-counter\.json holds 300 \(expected 300\)/);
    expect(run.stdout).toMatch(/ok {4}optimistic-counter\.json holds 300 \(expected 300\)/);
    expect(run.stdout).toMatch(/ok {4}60,000 distinct IDs \(expected 60,000\)/);
    expect(run.stdout).toMatch(/ok {4}no temp file left in the store/);
    expect(run.stdout).toMatch(/locked updates +300 /);
    expect(run.stdout).toContain('All checks passed.');
    // What the summary says is what the store holds.
    const store = new cfs.ConcurrentFileStore(dir);
    expect(await store.read('locked-counter.json')).toEqual({ count: 300 });
    expect(await store.read('optimistic-counter.json')).toEqual({ count: 300 });
  });

  it('a worker killed midway (holding the lock) is reported clearly, the others finish, exit 1', async () => {
    const dir = join(tempDir(), 'store');
    const env = { CONCURRENT_FS_DEMO_FAULT: 'sigkill' };
    const run = await runCli(['demo', '--workers', '3', '--updates', '40', '--ids', '1000', '--dir', dir, '--impl', impl], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/concurrent-fs demo: worker 0 \(pid \d+\) was killed by SIGKILL/);
    expect(run.stdout).toMatch(/FAIL {2}worker 0 \(pid \d+\) was killed by SIGKILL/);
    // Worker 0 made 20 of its 40 locked updates; the other two made all theirs.
    expect(run.stdout).toMatch(/FAIL {2}locked-counter\.json holds 100 \(expected 120\)/);
    expect(run.stdout).toMatch(/FAIL {2}optimistic-counter\.json holds 80 \(expected 120\)/);
    expect(run.stdout).toMatch(/checks FAILED\./);
  });
});

describe('concurrent-fs demo arguments', () => {
  it('refuses a --dir that holds an earlier run', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'locked-counter.json'), '{"count":7}');
    const run = await runCli(['demo', '--dir', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not empty');
  });
});

describe('concurrent-fs usage', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('--help lists the commands; each command has its own --help', async () => {
    const overview = await runCli(['--help']);
    expect(overview.code).toBe(0);
    for (const command of ['lock', 'write', 'id', 'demo']) {
      expect(overview.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
      const help = await runCli([command, '--help']);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toMatch(new RegExp(`^Usage: concurrent-fs ${command} `));
    }
  });

  it.each([
    [[], 'missing COMMAND', 'Usage: concurrent-fs COMMAND'],
    [['frobnicate'], "unknown command 'frobnicate'", 'Usage: concurrent-fs COMMAND'],
    [['lock', '--bogus', 'x.lock', '--', 'true'], "lock: Unknown option '--bogus'", 'Usage: concurrent-fs lock'],
    [['lock', 'x.lock'], 'lock: missing COMMAND', 'Usage: concurrent-fs lock'],
    [['lock', 'x.lock', '-c', 'true', 'extra'], 'lock: -c requires exactly one command argument', 'Usage: concurrent-fs lock'],
    [
      ['lock', '-E', '256', 'x.lock', 'true'],
      'lock: -E/--conflict-exit-code must be an integer from 0 to 255',
      'Usage: concurrent-fs lock',
    ],
    [['lock', '--', 'true'], 'lock: missing LOCKFILE', 'Usage: concurrent-fs lock'],
    [
      ['lock', '--timeout', 'soon', 'x.lock', '--', 'true'],
      "--timeout must be an integer from 0 to 2147483647, not 'soon'",
      'Usage: concurrent-fs lock',
    ],
    [['write'], 'write: missing PATH', 'Usage: concurrent-fs write'],
    [['write', '--durability', 'fast', 'x'], "--durability must be one of none, data, full, not 'fast'", 'Usage: concurrent-fs write'],
    [['write', '--mode', '999', 'x'], "--mode must be octal permission bits such as 644, not '999'", 'Usage: concurrent-fs write'],
    [['id', '--count', '1e3'], "--count must be an integer from 0 to 9007199254740991, not '1e3'", 'Usage: concurrent-fs id'],
    [['id', '--worker', '1024'], "--worker must be an integer from 0 to 1023, not '1024'", 'Usage: concurrent-fs id'],
    [['id', '--format', 'uuidv7', '--worker', '1'], '--worker and --lease apply to --format snowflake only', 'Usage: concurrent-fs id'],
    [['demo', '--workers', '0'], "--workers must be an integer from 1 to 1024, not '0'", 'Usage: concurrent-fs demo'],
    [['demo', '--impl', 'rust'], "--impl must be one of native, js, not 'rust'", 'Usage: concurrent-fs demo'],
  ])('%j: exit 2, the problem and the usage on stderr', async (args, problem, usage) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(problem);
    expect(run.stderr).toContain(usage);
  });
});
