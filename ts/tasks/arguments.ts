// Checking what callers hand a TaskQueue (add's options, fail's error) and turning it
// into what a record keeps.
import { invalidArgType, invalidArgValue, outOfRange } from '../errors';
import type { TaskError } from './record';

const DEFAULT_MAX_ATTEMPTS = 3;
/** Task IDs are file names: UUIDv7s from `add`, or anything this safe a caller names. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Distinct strings of an optional array; `check` rejects an item with `reason`. */
export function toStrings(value: unknown, name: string, check?: (item: string) => boolean, reason = ''): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgType(name, 'an array of strings', value);
  for (const [i, item] of value.entries()) {
    if (typeof item !== 'string') throw invalidArgType(`${name}[${i}]`, 'of type string', item);
    if (check && !check(item)) throw invalidArgValue(`${name}[${i}]`, item, reason);
  }
  return [...new Set(value as string[])];
}

/** `dependsOn`: task IDs, each safe as a file name. */
export function toTaskIds(value: unknown, name: string): string[] {
  return toStrings(value, name, (id) => SAFE_ID.test(id), 'must be a task ID');
}

export function toMaxAttempts(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ATTEMPTS;
  if (typeof value !== 'number') throw invalidArgType('options.maxAttempts', 'of type number', value);
  if (!Number.isInteger(value) || value < 1) throw outOfRange('options.maxAttempts', 'an integer >= 1', value);
  return value;
}

/** What a record keeps of the error a task failed with. */
export function toErrorRecord(error: unknown): TaskError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)) };
}
