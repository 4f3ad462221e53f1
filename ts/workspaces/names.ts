// Workspace names, checked before anything is touched: a name becomes a directory
// (`<root>/<name>`), a branch (`<prefix><name>`), a lock file and a record, so it must be
// one safe component in all four (git's ref rules, file names on every platform).
import { invalidArgType, invalidArgValue } from '../errors';

const MAX_NAME_LENGTH = 100;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PREFIX_COMPONENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Why `text` cannot be a git ref component (beyond the characters allowed), or undefined. */
function refComponentProblem(text: string): string | undefined {
  if (text.includes('..')) return "must not contain '..'";
  if (text.endsWith('.')) return "must not end with '.'";
  if (text.toLowerCase().endsWith('.lock')) return "must not end with '.lock'";
  return undefined;
}

/** The workspace name, or ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE. */
export function toWorkspaceName(value: unknown, label = 'name'): string {
  if (typeof value !== 'string') throw invalidArgType(label, 'of type string', value);
  if (value.length === 0 || value.length > MAX_NAME_LENGTH || !NAME.test(value)) {
    throw invalidArgValue(label, value, `must be 1 to ${MAX_NAME_LENGTH} characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  }
  const problem = refComponentProblem(value);
  if (problem) throw invalidArgValue(label, value, problem);
  return value;
}

/** A branch prefix such as `agent/` (empty allowed): slash-separated safe ref components. */
export function toBranchPrefix(value: unknown, label = 'options.branchPrefix'): string {
  if (value === undefined) return 'agent/';
  if (typeof value !== 'string') throw invalidArgType(label, 'of type string', value);
  const parts = value.split('/');
  const last = parts.pop();
  const bad = last !== '' && last !== undefined ? [...parts, last] : parts;
  for (const part of bad) {
    const problem = PREFIX_COMPONENT.test(part) ? refComponentProblem(part) : 'must be ref components of A-Z a-z 0-9 . _ - joined by /';
    if (problem) throw invalidArgValue(label, value, problem);
  }
  return value;
}

/** A git revision given by the caller: not empty, not an option, no NUL or newline. */
export function toRevision(value: unknown, label: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidArgType(label, 'of type string', value);
  if (value === '' || value.startsWith('-') || /[\0\n\r]/.test(value)) {
    throw invalidArgValue(label, value, 'must be a git revision (not empty, not starting with -, no NUL or newline)');
  }
  return value;
}
