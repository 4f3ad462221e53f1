// One agent of the workspaces soak: `node soak-ws-agent.cjs <impl> <repo> <name>`. Loops
// until its stdin ends (or it is killed): create the workspace `<name>-<i>`, commit a file
// of its own in it, merge it into main, remove it. One line per step on stdout:
//   created <ws> / committed <ws> <sha> / merged <ws> <sha> / removed <ws>
//   viol <message>      something the library promised and did not do
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const [impl, repo, name] = process.argv.slice(2);
const { Workspaces } = require(impl === 'js' ? '../dist/js.js' : '../dist/native.js');

process.stdout.on('error', () => {}); // a killed parent: finish quietly
const say = (line) => process.stdout.write(`${line}\n`);
let stopping = false;
process.stdin.on('end', () => {
  stopping = true;
});
process.stdin.resume();

const AUTHOR = ['-c', 'user.name=agent', '-c', 'user.email=agent@example.com'];

async function round(wss, ws) {
  const file = `${ws.name}.txt`;
  writeFileSync(join(ws.path, file), `${ws.name}\n`);
  await ws.git(['add', file]);
  await ws.git([...AUTHOR, 'commit', '-q', '-m', ws.name]);
  const sha = (await ws.git(['rev-parse', 'HEAD'])).stdout.trim();
  say(`committed ${ws.name} ${sha}`);
  const merged = await wss.merge(ws.name);
  // Every agent writes files of its own: a conflict or a refusal is a broken promise.
  if (merged.status !== 'merged') say(`viol merge of ${ws.name}: ${JSON.stringify(merged)}`);
  else say(`merged ${ws.name} ${sha}`);
  await wss.remove(ws.name);
  say(`removed ${ws.name}`);
}

async function main() {
  const wss = await Workspaces.open(repo);
  for (let i = 0; !stopping; i++) {
    const ws = await wss.create(`${name}-${i}`);
    say(`created ${ws.name}`);
    await round(wss, ws);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    say(`viol ${name}: ${err.code ?? ''} ${err.message}`.replace(/\n/g, ' '));
    process.exit(1);
  },
);
