// Reading and writing JSON documents: the one place that decides their format and what
// counts as corrupt.
import { readFile } from 'node:fs/promises';
import { invalidArgValue, isSystemError } from './errors';

/** A file that exists but does not hold valid JSON. It is never silently replaced. */
export class CorruptFileError extends Error {
  /** Always `'CorruptFileError'`. */
  override readonly name = 'CorruptFileError';
  /** Always `'ECORRUPT'`; `cause` is the `SyntaxError` of `JSON.parse`. */
  readonly code = 'ECORRUPT';
  constructor(
    /** The file that does not hold valid JSON; it is left as it is. */
    readonly path: string,
    cause: unknown,
  ) {
    super(`ECORRUPT: '${path}' does not hold valid JSON (${(cause as Error).message}); it was left as it is`, { cause });
  }
}

/** The file's bytes, or null when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return null;
    throw err;
  }
}

export function parseJson(path: string, bytes: Buffer | null): unknown {
  if (bytes === null) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CorruptFileError(path, err);
  }
}

/** Two-space indented with a final newline: these files are read by people too. */
export function serializeJson(value: unknown, name = 'value'): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    throw invalidArgValue(name, value, `must be serializable as JSON (${(err as Error).message})`);
  }
  if (text === undefined) throw invalidArgValue(name, value, 'must be serializable as JSON');
  return Buffer.from(`${text}\n`);
}
