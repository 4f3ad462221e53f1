// Every export of the shipped types carries documentation, so editors show it on hover.
// Read from dist/index.d.ts (what users get), not from the sources: a doc comment on an
// inner function does not reach the `.d.ts` of `export const x = api.x`.
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const DIST = join(__dirname, '..', 'dist');
const ENTRIES = ['index', 'native', 'js'];

/** Exports that are data or error classes: a description is enough, no example needed. */
const NO_EXAMPLE = /Error$|^implementation$/;

/** Members every user meets: not private (#x), not symbols, not inherited from the TS lib (Error's message/stack). */
function ownMembers(type: ts.Type): ts.Symbol[] {
  return type.getProperties().filter((member) => {
    if (/^(__#|__@|#)/.test(member.name) || member.name === 'name') return false;
    const declarations = member.declarations ?? [];
    return declarations.some((d) => !/[\\/]typescript[\\/]lib[\\/]/.test(d.getSourceFile().fileName));
  });
}

/** The instance type of an exported class, interface, or `const X = api.X` class value. */
function instanceType(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Type | undefined {
  if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) return checker.getDeclaredTypeOfSymbol(symbol);
  const declaration = symbol.declarations?.[0];
  if (!declaration || !(symbol.flags & ts.SymbolFlags.Variable)) return undefined;
  return checker.getTypeOfSymbolAtLocation(symbol, declaration).getConstructSignatures()[0]?.getReturnType();
}

function exportsOf(file: string) {
  const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} not found: run npm run build first`);
  const module = checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`${file} is not a module`);
  const docOf = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  return checker.getExportsOfModule(module).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const type = instanceType(checker, symbol);
    return {
      name: exported.name,
      isValue: (symbol.flags & ts.SymbolFlags.Value) !== 0,
      doc: docOf(symbol),
      tags: symbol.getJsDocTags(checker).map((tag) => tag.name),
      undocumentedMembers: type
        ? ownMembers(type)
            .filter((m) => docOf(m) === '')
            .map((m) => `${exported.name}.${m.name}`)
        : [],
    };
  });
}

describe.each(ENTRIES)('doc comments in dist/%s.d.ts', (entry) => {
  const exported = exportsOf(join(DIST, `${entry}.d.ts`));

  it('finds the exports', () => {
    expect(exported.map((e) => e.name)).toEqual(expect.arrayContaining(['atomicWrite', 'withLock', 'FileLock', 'ConcurrentFileStore']));
  });

  it('every export has a doc comment', () => {
    expect(exported.filter((e) => e.doc === '').map((e) => e.name)).toEqual([]);
  });

  it('every exported function and class has an @example', () => {
    const missing = exported.filter((e) => e.isValue && !NO_EXAMPLE.test(e.name) && !e.tags.includes('example'));
    expect(missing.map((e) => e.name)).toEqual([]);
  });

  it('every public method, property and option field of an exported class or interface has a doc comment', () => {
    expect(exported.flatMap((e) => e.undocumentedMembers)).toEqual([]);
  });
});
