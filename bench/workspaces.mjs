// @ts-check
// The workspaces bench on its own: `node bench/workspaces.mjs [--quick] [--dir=PATH] [--timing-counts=4,8,16]`
// (after `npm run build`). Prints the figures and writes bench/results/workspaces.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { runWorkspaces } from './sections/workspaces.mjs';

const quick = process.argv.includes('--quick');
const dir = process.argv.find((a) => a.startsWith('--dir='))?.slice(6) ?? tmpdir();
const timing = process.argv.find((a) => a.startsWith('--timing-counts='))?.slice(16);
const config = quick
  ? { counts: [4, 8], failureRounds: 2, bigFiles: 2000, killTimes: 3, dir }
  : { dir, ...(timing ? { timingCounts: timing.split(',').map(Number) } : {}) };
console.error(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const result = await runWorkspaces(config);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/workspaces${quick ? '-quick' : ''}.json`, import.meta.url),
  `${JSON.stringify({ config, loadAverage: loadavg(), result }, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));
