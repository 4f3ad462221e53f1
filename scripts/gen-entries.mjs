// Writes the entry points `concurrent-fs/native` (ts/native.ts) and `concurrent-fs/js`
// (ts/js.ts) from the default one (ts/index.ts): the same exports with the same doc
// comments, over another implementation. One list to keep, and editors show the same
// documentation whichever entry point a user imports. Run by `npm run build` (build:ts);
// the output is not checked in.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const TS = join(resolve(import.meta.dirname, '..'), 'ts');
const source = readFileSync(join(TS, 'index.ts'), 'utf8');

const ENTRIES = [
  {
    file: 'native.ts',
    header: "// Entry point 'concurrent-fs/native': the native addon only; throws if it cannot load.",
    backendImport: "import { loadNativeBackend } from './native/backend';",
    backend: 'loadNativeBackend()',
  },
  {
    file: 'js.ts',
    header: "// Entry point 'concurrent-fs/js': the pure-JS fallback only.",
    backendImport: "import { jsBackend } from './js/backend';",
    backend: 'jsBackend',
  },
];

const SELECT_IMPORT = "import { selectBackend } from './select';";
const SELECT_CALL = 'createApi(selectBackend())';

function generate({ header, backendImport, backend }) {
  const lines = source.split('\n');
  const firstImport = lines.findIndex((line) => line.startsWith('import '));
  const afterImports = lines.findIndex((line, i) => i > firstImport && !line.startsWith('import '));
  if (firstImport < 0 || !lines.includes(SELECT_IMPORT) || !source.includes(SELECT_CALL)) {
    throw new Error(`ts/index.ts no longer has the shape this script expects (${SELECT_IMPORT} and ${SELECT_CALL})`);
  }
  // Imports sorted by module path, as Biome sorts them.
  const imports = [...lines.slice(firstImport, afterImports).filter((line) => line !== SELECT_IMPORT), backendImport];
  imports.sort((a, b) => from(a).localeCompare(from(b)));
  const body = lines.slice(afterImports).join('\n').replace(SELECT_CALL, `createApi(${backend})`);
  return [`// Generated from ts/index.ts by scripts/gen-entries.mjs at build time: do not edit.`, header, ...imports, body].join('\n');
}

function from(importLine) {
  return /from '([^']+)'/.exec(importLine)?.[1] ?? '';
}

for (const entry of ENTRIES) writeFileSync(join(TS, entry.file), generate(entry));
