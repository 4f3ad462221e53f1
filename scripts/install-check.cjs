// Copied into each consumer project that scripts/test-install.mjs makes, and run there:
// loads concurrent-fs the way a user's CommonJS code does, uses it, and prints one JSON
// line saying what it saw. The test decides what is right.
const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const warnings = [];
process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));

/** Whether another process can take the lock at `path` right now. */
function freeForOthers(path) {
  const script = `process.stdout.write(String(new (require('concurrent-fs').FileLock)(${JSON.stringify(path)}).tryAcquire()))`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) === 'true';
}

async function main() {
  const cfs = require('concurrent-fs');
  const dir = mkdtempSync(join(process.cwd(), 'work-'));

  const file = join(dir, 'data.json');
  await cfs.atomicWrite(file, '{"n":1}');
  await cfs.atomicWrite(file, '{"n":2}');
  const written = readFileSync(file, 'utf8');

  const lockPath = join(dir, 'data.json.lock');
  const lock = new cfs.FileLock(lockPath);
  await lock.acquire();
  const heldExcludesOthers = !freeForOthers(lockPath);
  lock.release();
  const releasedIsFree = freeForOthers(lockPath);

  // IDs arrived on main while packaging was built: check them where they exist.
  let ids = 'absent';
  if (typeof cfs.uuidv7 === 'function' && typeof cfs.Snowflake === 'function') {
    const [a, b] = [cfs.uuidv7(), cfs.uuidv7()];
    const snowflake = new cfs.Snowflake({ workerId: 1 });
    const [x, y] = [snowflake.next(), snowflake.next()];
    const uuidOk = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(a) && a < b;
    ids = uuidOk && typeof x === 'bigint' && y > x ? 'ok' : `wrong: ${a} ${b} ${x} ${y}`;
  }

  // Warnings are emitted on the next tick: report after them.
  setImmediate(() => {
    console.log(JSON.stringify({ implementation: cfs.implementation, warnings, written, heldExcludesOthers, releasedIsFree, ids }));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
