// `npm run pack:all [-- --out DIR] [--binaries DIR] [--all]`: packs exactly what a release
// publishes, as tarballs in DIR (default .packages/), and lists them in DIR/packages.json:
//   - concurrent-fs-<platform>-<version>.tgz for each napi target whose binary is found,
//   - concurrent-fs-<version>.tgz, the main package, with optionalDependencies on the
//     package of EVERY target, each at the main package's version.
// --binaries: where the built concurrent-fs.<platform>.node files are, searched one level
//   deep (CI downloads each build artifact into its own folder); default: the repo root.
// --all: fail unless every target has its binary (the release job uses it).
//
// The per-platform package folders npm/<platform>/ are generated here by the napi CLI
// from package.json's napi.targets (the one list of targets) and are not committed.
//
// Why optionalDependencies are added to the tarball only, not to package.json: npm 11
// records unpublished optional dependencies in package-lock.json as missing, after which
// `npm ci` fails in every fresh clone ("Missing: concurrent-fs-linux-x64-gnu@ from lock
// file", verified); and once published they would be locked to whatever platform ran
// `npm install` (npm/cli#4828).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NapiCli, readNapiConfig } from '@napi-rs/cli';

const ROOT = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: join(ROOT, '.packages') },
    binaries: { type: 'string', default: ROOT },
    all: { type: 'boolean', default: false },
  },
});

/** Runs `npm pack` in `dir` and returns npm's description of the tarball it wrote. */
function npmPack(dir, out) {
  const run = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  if (run.status !== 0) throw new Error(`npm pack in ${dir} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout)[0];
}

/** The files under `dir` and its direct subfolders, by name. */
function findBinaries(dir) {
  const found = new Map();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const files = entry.isDirectory() && entry.name !== 'node_modules' ? readdirSync(path).map((f) => join(path, f)) : [path];
    for (const file of files) if (file.endsWith('.node')) found.set(file.slice(dirname(file).length + 1), file);
  }
  return found;
}

const out = resolve(args.out);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const { targets, binaryName, packageName } = await readNapiConfig(join(ROOT, 'package.json'));
await new NapiCli().createNpmDirs({ cwd: ROOT, packageJsonPath: 'package.json', npmDir: 'npm' });

const binaries = findBinaries(resolve(args.binaries));
const packed = { main: '', platforms: {} };
const missing = [];
for (const { platformArchABI: platform } of targets) {
  const file = `${binaryName}.${platform}.node`;
  const binary = binaries.get(file);
  if (!binary) {
    missing.push(file);
    continue;
  }
  const dir = join(ROOT, 'npm', platform);
  copyFileSync(binary, join(dir, file));
  copyFileSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'));
  packed.platforms[platform] = npmPack(dir, out).filename;
}
if (missing.length > 0 && args.all) throw new Error(`no binary for ${missing.join(', ')}`);

// The main package: npm's own file list, staged with the optionalDependencies added.
const list = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
  cwd: ROOT,
  encoding: 'utf8',
  shell: process.platform === 'win32',
});
if (list.status !== 0) throw new Error(`npm pack --dry-run failed:\n${list.stderr}`);
const stage = mkdtempSync(join(tmpdir(), 'concurrent-fs-pack-'));
try {
  for (const { path } of JSON.parse(list.stdout)[0].files) {
    if (path === 'package.json') continue;
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    copyFileSync(join(ROOT, path), join(stage, path));
  }
  pkg.optionalDependencies = Object.fromEntries(targets.map((t) => [`${packageName}-${t.platformArchABI}`, pkg.version]));
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  packed.main = npmPack(stage, out).filename;
} finally {
  rmSync(stage, { recursive: true, force: true });
}

writeFileSync(join(out, 'packages.json'), `${JSON.stringify(packed, null, 2)}\n`);
for (const file of [packed.main, ...Object.values(packed.platforms)]) {
  console.log(`${file}: ${readFileSync(join(out, file)).length} bytes`);
}
if (missing.length > 0) console.log(`not packed (no binary here): ${missing.join(', ')}`);
