// One agent of the workspaces bench: `node ws-create.cjs <repo> <root> <name> <base>` opens
// the repository's Workspaces, says 'ready', waits for 'go' on stdin (so all agents start
// together, without Node's start-up), creates <name> and prints {"ok", "ms", "code"?} as
// JSON, then holds the workspace until stdin ends (or it is killed).
'use strict';
const { Workspaces } = require('../../dist/native.js');

const [repo, root, name, base] = process.argv.slice(2);

async function main() {
  const wss = await Workspaces.open(repo, { root, base });
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const started = performance.now();
  try {
    await wss.create(name);
    process.stdout.write(`${JSON.stringify({ ok: true, ms: performance.now() - started, at: Date.now() })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, ms: performance.now() - started, code: err.code, message: err.message })}\n`);
  }
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
