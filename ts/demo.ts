// `npm run demo`: the project's main job in miniature. N worker processes increment one
// shared JSON counter under a cross-process lock, each write atomic and durable; the
// parent checks that no update was lost and no temp file was left behind.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cfs = typeof import('./native');

function loadImpl(name: string | undefined): Cfs {
  if (name === 'js') return require('./js');
  if (name === 'native') return require('./native');
  return require('./index');
}

async function child(dir: string, updates: number, impl: string | undefined): Promise<void> {
  const cfs = loadImpl(impl);
  const counter = join(dir, 'counter.json');
  for (let i = 0; i < updates; i++) {
    await cfs.withLock(`${counter}.lock`, async () => {
      const { n } = JSON.parse(readFileSync(counter, 'utf8')) as { n: number };
      await cfs.atomicWrite(counter, JSON.stringify({ n: n + 1 }));
    });
  }
}

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
}

async function main(args: string[]): Promise<number> {
  if (args[0] === '--child') {
    await child(args[1]!, Number(args[2]), args[3]);
    return 0;
  }
  const workers = Number(option(args, '--workers', '4'));
  const updates = Number(option(args, '--updates', '500'));
  const impl = option(args, '--impl', '');
  const cfs = loadImpl(impl || undefined);
  const dir = mkdtempSync(join(tmpdir(), 'cfs-demo-'));
  writeFileSync(join(dir, 'counter.json'), JSON.stringify({ n: 0 }));
  console.log(`concurrent-fs demo: ${workers} processes x ${updates} locked, durable updates of one JSON file (${cfs.implementation})`);
  const started = performance.now();
  const codes = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<number | null>((resolve) => {
          spawn(process.execPath, [__filename, '--child', dir, String(updates), impl], { stdio: 'inherit' }).on('close', resolve);
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const { n } = JSON.parse(readFileSync(join(dir, 'counter.json'), 'utf8')) as { n: number };
  const leftovers = readdirSync(dir).filter((name) => name.endsWith('.tmp'));
  rmSync(dir, { recursive: true, force: true });
  const checks = [
    [`all ${workers} workers exited cleanly`, codes.every((c) => c === 0)],
    [`counter is exactly ${workers * updates} (got ${n}): no update lost`, n === workers * updates],
    ['no temp file left behind', leftovers.length === 0],
  ] as const;
  console.log(`${n} updates in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} updates/s`);
  for (const [label, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}`);
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
