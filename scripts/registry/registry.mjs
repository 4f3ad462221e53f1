// A throwaway npm registry for `npm run test:install`: verdaccio on 127.0.0.1, its config
// and storage in a folder the caller owns. It has no uplinks, so nothing is fetched from or
// sent to the real registry; anyone may read, and the one user created here may publish.
//
// verdaccio is not a devDependency: it would add ~330 packages (~9 s) to every `npm ci`
// for the sake of one test. It is installed on first use from this folder's package.json
// and lockfile into node_modules/.cache/ (npm ci, ~9 s with a warm npm cache, ~16 s cold).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const HERE = import.meta.dirname;
const TOOL_DIR = resolve(HERE, '..', '..', 'node_modules', '.cache', 'concurrent-fs-registry');
const HOST = '127.0.0.1';

/** Installs verdaccio (pinned by this folder's lockfile) unless that exact install is there. */
export function installVerdaccio() {
  const lock = readFileSync(join(HERE, 'package-lock.json'));
  const stamp = createHash('sha256').update(lock).digest('hex');
  const stampFile = join(TOOL_DIR, 'installed.sha256');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  mkdirSync(TOOL_DIR, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(HERE, file), join(TOOL_DIR, file));
  const run = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: TOOL_DIR,
    encoding: 'utf8',
    timeout: 300_000,
    shell: process.platform === 'win32',
  });
  if (run.status !== 0) throw new Error(`installing verdaccio failed:\n${run.stderr}`);
  writeFileSync(stampFile, stamp);
}

/** A TCP port that was free a moment ago (verdaccio binds it next; a lost race is retried). */
async function freePort() {
  const server = createServer().listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once GET /-/ping answers 200; rejects if the server exits or `timeoutMs` passes. */
async function waitReady(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${url}/-/ping`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100)); // probe interval
  }
  return false;
}

/** Stops a child process: SIGTERM, then SIGKILL if it is still there after 5 s. */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exit;
  clearTimeout(timer);
}

/**
 * Starts verdaccio with everything under `dir`. Returns its URL, an auth token for
 * publishing, and stop(). Call installVerdaccio() first.
 */
export async function startRegistry(dir) {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
      '    max_users: 1',
      // No uplinks: a package not published here is a 404, never a fetch from elsewhere.
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const bin = join(TOOL_DIR, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const url = `http://${HOST}:${port}`;
    const log = openSync(join(dir, 'verdaccio.log'), 'a');
    const child = spawn(process.execPath, [bin, '--config', config, '--listen', `${HOST}:${port}`], {
      stdio: ['ignore', log, log],
    });
    closeSync(log); // the child has its own copy
    if (!(await waitReady(url, child, 30_000))) {
      await stopChild(child);
      continue; // the port was taken in between, or verdaccio failed: see verdaccio.log
    }
    const stop = () => stopChild(child);
    try {
      return { url, token: await createUser(url), stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }
  throw new Error(`verdaccio did not start; see ${join(dir, 'verdaccio.log')}`);
}

/** Creates the publishing user the way `npm adduser` does, and returns its token. */
async function createUser(url) {
  const name = 'cfs-test';
  const res = await fetch(`${url}/-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: 'cfs-test-password', type: 'user', roles: [], date: new Date().toISOString() }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.json();
  if (!res.ok || typeof body.token !== 'string') throw new Error(`verdaccio refused the user: ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}
