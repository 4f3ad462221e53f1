// `npm run test:install`: `npm install concurrent-fs` the way a user meets it, from the
// tarballs a release publishes, on a machine without Rust (cargo and rustc are taken off
// PATH for everything the consumers run):
//   (a) the main and this platform's tarballs: the native addon loads and works;
//   (b) the main tarball alone: the pure-JS fallback loads with its CFS_FALLBACK warning;
//   (c) both published to a local registry (verdaccio on 127.0.0.1, started and stopped
//       here, storage in the temp dir), then `npm install concurrent-fs` from it: as (a).
// Also: what the tarballs contain, and that the types resolve for `require` and `import`.
//
// Needs the built package (`npm run build`, which `npm ci` runs). (a) and (b) install
// offline, from the npm cache, after caching the runtime dependencies by name and pinned
// version (the only names looked up on the real registry). Nothing is published anywhere
// but the local registry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installVerdaccio, startRegistry } from './registry/registry.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TMP = mkdtempSync(join(tmpdir(), 'cfs-install-'));
const HOOK = { timeout: 300_000 };

// The consumers' environment: no Rust on PATH, and nothing inherited from the `npm run`
// that started this test (npm_config_*, npm_package_*) or that picks an implementation.
const NO_RUST_PATH = process.env.PATH.split(delimiter)
  .filter((dir) => !['cargo', 'rustc'].some((tool) => existsSync(join(dir, tool))))
  .join(delimiter);
const USER_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && !key.startsWith('CONCURRENT_FS_') && key !== 'PATH'),
);
USER_ENV.PATH = NO_RUST_PATH;

/** Runs a command to completion (bounded) and returns its stdout; throws with its output on failure. */
function run(cmd, args, { cwd, env = USER_ENV, timeout = 180_000 } = {}) {
  const result = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, shell: process.platform === 'win32' });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${result.error ?? result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** A fresh, empty npm project, with the check script copied in. */
function consumer(name) {
  const dir = join(TMP, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  copyFileSync(join(ROOT, 'scripts', 'install-check.cjs'), join(dir, 'check.cjs'));
  return dir;
}

const npmInstall = (dir, args, options) => run('npm', ['install', '--no-audit', '--no-fund', ...args], { cwd: dir, ...options });
const check = (dir) => JSON.parse(run('node', ['check.cjs'], { cwd: dir }));
const tarList = (file) => run('tar', ['-tzf', file], { env: process.env }).trim().split('\n');
const tarJson = (file, path) => JSON.parse(run('tar', ['-xzOf', file, path], { env: process.env }));

/** The checks of a working native install. */
function assertNative(result) {
  assert.equal(result.implementation, 'native');
  assert.deepEqual(result.warnings, []);
  assert.equal(result.written, '{"n":2}');
  assert.equal(result.heldExcludesOthers, true, 'a held lock excludes another process');
  assert.equal(result.releasedIsFree, true, 'a released lock is free for another process');
  assert.ok(result.ids === 'ok' || result.ids === 'absent', `IDs: ${result.ids}`);
}

/**
 * (a) and (b) install offline, so the runtime dependencies must be in the npm cache with
 * their registry metadata. `npm ci` caches tarballs by integrity, not the metadata that
 * resolving a tarball's dependencies needs, so a machine that never ran `npm install`
 * lacks it: fetch exactly those packages, at the versions the package pins, first.
 */
function cacheRuntimeDependencies() {
  for (const [name, version] of Object.entries(pkg.dependencies ?? {})) {
    run('npm', ['cache', 'add', `${name}@${version}`], { cwd: TMP, env: process.env });
  }
}

/**
 * Type-checks a consumer's `require` and `import` of the installed package under node16
 * (checking every shipped .d.ts too), bundler and node10 resolution.
 */
function checkTypes(dir) {
  const types = join(dir, 'types');
  mkdirSync(types);
  for (const file of ['require.cts', 'import.mts']) copyFileSync(join(ROOT, 'scripts', 'install-types', file), join(types, file));
  copyFileSync(join(ROOT, 'scripts', 'install-types', 'import.mts'), join(types, 'import.ts'));
  const compilerOptions = {
    strict: true,
    noEmit: true,
    target: 'es2022',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  const modes = {
    node16: { module: 'node16', moduleResolution: 'node16', files: ['require.cts', 'import.mts'], shipped: true },
    bundler: { module: 'esnext', moduleResolution: 'bundler', files: ['import.ts'] },
    node10: { module: 'commonjs', moduleResolution: 'node10', files: ['import.ts'] },
  };
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [mode, { module, moduleResolution, files, shipped }] of Object.entries(modes)) {
    const config = {
      // node16 also checks every shipped .d.ts (a broken one anywhere fails this test);
      // the other modes only need to resolve the entry points.
      compilerOptions: { ...compilerOptions, module, moduleResolution, skipLibCheck: !shipped },
      files,
      include: shipped ? ['../node_modules/concurrent-fs/dist/**/*.d.ts'] : [],
      // concurrent-fs/etcd's types name etcd3's, an optional peer dependency this consumer
      // does not install (nothing reaches them unless the app imports concurrent-fs/etcd).
      exclude: shipped ? ['../node_modules/concurrent-fs/dist/etcd/**', '../node_modules/concurrent-fs/dist/etcd.d.ts'] : [],
    };
    writeFileSync(join(types, `tsconfig.${mode}.json`), JSON.stringify(config));
    run('node', [tsc, '-p', `tsconfig.${mode}.json`], { cwd: types });
  }
}

/** Bundles an app using the package installed in `dir` with esbuild, deploys it without node_modules, runs it: what it printed. */
function runBundled(dir) {
  const app = join(dir, 'bundled-app.js');
  writeFileSync(app, "const cfs = require('concurrent-fs'); console.log(cfs.implementation, typeof cfs.atomicWriteSync);");
  const out = join(TMP, 'bundle-out');
  // The project's esbuild (a devDependency), resolving from the consumer's node_modules.
  const esbuild = createRequire(join(ROOT, 'package.json'))('esbuild');
  esbuild.buildSync({ entryPoints: [app], bundle: true, platform: 'node', loader: { '.node': 'copy' }, outdir: out, logLevel: 'error' });
  const deployed = join(TMP, 'deployed');
  cpSync(out, deployed, { recursive: true });
  return run('node', ['--no-warnings', join(deployed, 'bundled-app.js')], { cwd: deployed }).trim();
}

let main; // the main package's tarball
let platformTarball; // this machine's platform package's tarball
let platform; // e.g. linux-x64-gnu

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'index.js')), 'dist/ is missing: run `npm run build` first');
  const { platformNames } = require(join(ROOT, 'dist', 'native', 'load.js'));
  platform = platformNames()[0];
  const out = join(TMP, 'packages');
  run('node', [join(ROOT, 'scripts', 'pack.mjs'), '--out', out], { cwd: ROOT, env: process.env });
  const packed = JSON.parse(readFileSync(join(out, 'packages.json'), 'utf8'));
  assert.ok(packed.platforms[platform], `no binary for ${platform} was packed: run \`npm run build\` first`);
  main = join(out, packed.main);
  platformTarball = join(out, packed.platforms[platform]);
  cacheRuntimeDependencies();
  console.log(
    `# packed: ${packed.main} ${readFileSync(main).length} B, ${packed.platforms[platform]} ${readFileSync(platformTarball).length} B`,
  );
}, HOOK);

after(() => {
  if (process.env.CFS_KEEP_INSTALL_TMP) console.log(`# kept ${TMP}`);
  else rmSync(TMP, { recursive: true, force: true });
});

it('the consumers run without cargo or rustc on PATH', () => {
  for (const tool of ['cargo', 'rustc']) {
    const result = spawnSync(tool, ['--version'], { env: USER_ENV });
    assert.equal(result.error?.code, 'ENOENT', `${tool} is still reachable`);
  }
});

describe('package contents', () => {
  it('the main tarball holds built JS, its types, the docs pages the README links, README, LICENSE and package.json only', () => {
    const files = tarList(main);
    for (const file of files)
      assert.match(file, /^package\/(package\.json|README\.md|LICENSE|docs\/[\w-]+\.md|dist\/[\w/-]+\.(js|d\.ts))$/);
    // The README's links into docs/ must work on the npm page too: the pages they name ship.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [, page] of readme.matchAll(/\]\((docs\/[\w-]+\.md)/g))
      assert.ok(files.includes(`package/${page}`), `${page} is linked but not shipped`);
    for (const entry of ['index', 'native', 'js']) {
      assert.ok(files.includes(`package/dist/${entry}.js`) && files.includes(`package/dist/${entry}.d.ts`), entry);
    }
    assert.ok(!files.some((f) => /\.(map|node|rs|ts)$/.test(f) && !f.endsWith('.d.ts')), 'no maps, binaries or sources');
  });

  it('the platform tarball holds the binary, README, LICENSE and package.json only', () => {
    assert.deepEqual(tarList(platformTarball).sort(), [
      'package/LICENSE',
      'package/README.md',
      `package/${pkg.napi.binaryName}.${platform}.node`,
      'package/package.json',
    ]);
  });

  it('the main package depends optionally on every target, at its own version, with no install scripts', () => {
    const manifest = tarJson(main, 'package/package.json');
    const expected = pkg.napi.targets.length;
    const optional = Object.entries(manifest.optionalDependencies ?? {});
    assert.equal(optional.length, expected);
    for (const [name, version] of optional) {
      assert.match(name, /^@concurrent-fs\/binding-[a-z0-9]+-[a-z0-9]+(-[a-z]+)?$/);
      assert.equal(version, pkg.version);
    }
    assert.ok(optional.some(([name]) => name === `${pkg.napi.packageName}-${platform}`));
    for (const script of ['preinstall', 'install', 'postinstall']) assert.equal(manifest.scripts?.[script], undefined, script);
    const platformManifest = tarJson(platformTarball, 'package/package.json');
    assert.equal(platformManifest.version, pkg.version);
    assert.deepEqual(platformManifest.os, [process.platform]);
    assert.deepEqual(platformManifest.cpu, [process.arch]);
  });
});

describe('(a) main + platform tarballs', () => {
  let dir;
  before(() => {
    dir = consumer('a');
    npmInstall(dir, ['--offline', main, platformTarball]);
  }, HOOK);

  it('loads the native addon from the platform package, and writes, locks and mints IDs', () => {
    assert.ok(existsSync(join(dir, 'node_modules', `${pkg.napi.packageName}-${platform}`)));
    assertNative(check(dir));
  });

  it('installs the concurrent-fs command, which mints increasing IDs', () => {
    const bin = join(dir, 'node_modules', '.bin', 'concurrent-fs');
    const ids = run(bin, ['id', '--count', '3', '--worker', '5'], { cwd: dir }).trim().split('\n');
    assert.equal(ids.length, 3);
    assert.ok(BigInt(ids[0]) < BigInt(ids[1]) && BigInt(ids[1]) < BigInt(ids[2]), ids.join(' '));
    assert.match(run(bin, ['--version'], { cwd: dir }), /\d+\.\d+\.\d+/);
  });

  it('works from ESM with named imports', () => {
    const script =
      "import { implementation, atomicWrite } from 'concurrent-fs'; import * as js from 'concurrent-fs/js'; console.log(implementation, js.implementation, typeof atomicWrite)";
    assert.equal(run('node', ['--input-type=module', '-e', script], { cwd: dir }).trim(), 'native js function');
  });

  it('types resolve for require and import (node16), bundler and node10, with every shipped .d.ts checked', () => checkTypes(dir));

  it('an esbuild bundle of an app using it, deployed without node_modules, loads the native addon', () => {
    assert.equal(runBundled(dir), 'native function');
  });

  it('refuses a platform package of another version and falls back with a warning saying so', () => {
    const manifestPath = join(dir, 'node_modules', `${pkg.napi.packageName}-${platform}`, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, version: '0.0.0-stale' }));
    try {
      const result = check(dir);
      assert.equal(result.implementation, 'js');
      assert.deepEqual(
        result.warnings.map((w) => w.code),
        ['CFS_FALLBACK'],
      );
      assert.match(result.warnings[0].message, /version 0\.0\.0-stale does not match concurrent-fs/);
    } finally {
      writeFileSync(manifestPath, JSON.stringify(manifest));
    }
  });
});

describe('(b) main tarball only', () => {
  let dir;
  before(() => {
    dir = consumer('b');
    npmInstall(dir, ['--offline', main]);
  }, HOOK);

  it('falls back to pure JS with one CFS_FALLBACK warning, and writes and locks', () => {
    const result = check(dir);
    assert.equal(result.implementation, 'js');
    assert.deepEqual(
      result.warnings.map((w) => w.code),
      ['CFS_FALLBACK'],
    );
    assert.match(result.warnings[0].message, new RegExp(`${pkg.napi.packageName}-${platform}@${pkg.version}`));
    assert.equal(result.written, '{"n":2}');
    assert.equal(result.heldExcludesOthers, true);
    assert.equal(result.releasedIsFree, true);
    assert.ok(result.ids === 'ok' || result.ids === 'absent', `IDs: ${result.ids}`);
  });

  it('concurrent-fs/native throws a clear error', () => {
    const result = spawnSync('node', ['-e', "require('concurrent-fs/native')"], { cwd: dir, env: USER_ENV, encoding: 'utf8' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /cannot load the concurrent-fs native addon/);
  });
});

describe('(c) npm install concurrent-fs from a local registry', () => {
  let registry;
  let result;
  before(async () => {
    installVerdaccio(); // not timed: a one-off tool install, not part of the registry round trip
    const started = performance.now();
    registry = await startRegistry(join(TMP, 'registry'));
    const ready = performance.now();

    // Only ever this registry: the flag (which npm 11 puts above a package's
    // publishConfig.registry), the environment, and a userconfig holding its token only.
    const npmrc = join(TMP, 'registry', 'npmrc');
    writeFileSync(npmrc, `registry=${registry.url}/\n//${new URL(registry.url).host}/:_authToken=${registry.token}\n`);
    const env = { ...USER_ENV, npm_config_registry: `${registry.url}/`, npm_config_userconfig: npmrc };
    const publish = (tarball) => run('npm', ['publish', tarball, '--registry', `${registry.url}/`, '--ignore-scripts'], { cwd: TMP, env });

    // The runtime dependencies first, taken from the npm cache as published upstream.
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
      assert.deepEqual(installed.dependencies ?? {}, {}, `${name} has dependencies of its own: publish those too`);
      const file = JSON.parse(
        run('npm', ['pack', `${name}@${installed.version}`, '--offline', '--json'], { cwd: TMP, env: process.env }),
      )[0].filename;
      publish(join(TMP, file));
    }
    publish(platformTarball);
    publish(main);
    const published = performance.now();

    // A fresh project and a fresh npm cache: everything comes from the local registry.
    const dir = consumer('c');
    npmInstall(dir, ['concurrent-fs', '--cache', join(TMP, 'npm-cache-c')], { env });
    const installed = performance.now();
    result = check(dir);
    const working = performance.now();
    const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `# (c) registry start → working require: ${s(working - started)} ` +
        `(registry up ${s(ready - started)}, publish ${s(published - ready)}, install ${s(installed - published)}, require + checks ${s(working - installed)})`,
    );
  }, HOOK);

  after(async () => {
    await registry?.stop();
  });

  it('installs concurrent-fs and its platform package from the registry, and works natively', () => {
    assertNative(result);
  });
});
