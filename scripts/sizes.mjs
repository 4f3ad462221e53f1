// `node scripts/sizes.mjs [--write]`: packs the release tarballs (scripts/pack.mjs, into a
// temporary folder) and prints the sizes README.md quotes: the native binary of this
// platform, the main tarball packed and its file count. --write puts them into README.md's
// Install section, so the documented numbers come from one run instead of going stale.
// Needs a built tree (`npm run build`): pack.mjs packs dist/ and the built .node files.
// Sizes are in kB of 1000 bytes, as `npm pack` prints them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const README = join(ROOT, 'README.md');
// The sentence this script owns in README.md; the numbers are replaced in place.
const SENTENCE = /The binary is about [\d,]+ kB; the main tarball [\d,]+ kB\s+packed, [\d,]+ files\./;
const SENTENCE_OLD = /The binary is about [\d,]+ KB; the main tarball [\d,]+ KB\s+packed\./;

const { values: args } = parseArgs({ options: { write: { type: 'boolean', default: false } } });

function run(command, argv) {
  const result = spawnSync(command, argv, { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

const kB = (bytes) => Math.round(bytes / 1000);

const out = mkdtempSync(join(tmpdir(), 'concurrent-fs-sizes-'));
try {
  run(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), '--out', out]);
  const packed = JSON.parse(readFileSync(join(out, 'packages.json'), 'utf8'));
  const platforms = Object.keys(packed.platforms);
  if (platforms.length === 0) throw new Error('no native binary was packed: run `npm run build` first');
  const binName = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).napi.binaryName;
  // pack.mjs copied the binary into npm/<platform>/ to pack it.
  const binary = statSync(join(ROOT, 'npm', platforms[0], `${binName}.${platforms[0]}.node`)).size;
  const tarball = statSync(join(out, packed.main)).size;
  const files = run('tar', ['-tzf', join(out, packed.main)])
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/')).length;

  console.log(`binary (${platforms[0]}): ${binary} bytes (${kB(binary)} kB)`);
  console.log(`main tarball ${packed.main}: ${tarball} bytes (${kB(tarball)} kB packed), ${files} files`);

  if (args.write) {
    const sentence = `The binary is about ${kB(binary)} kB; the main tarball ${kB(tarball)} kB\npacked, ${files} files.`;
    const text = readFileSync(README, 'utf8');
    const pattern = SENTENCE.test(text) ? SENTENCE : SENTENCE_OLD;
    if (!pattern.test(text)) throw new Error('README.md: the sizes sentence was not found');
    writeFileSync(README, text.replace(pattern, sentence));
    console.log('README.md updated');
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
