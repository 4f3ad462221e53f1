// `concurrent-fs id --json` and `concurrent-fs completion bash|zsh|fish`.
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli';
import { runSync } from './helpers/spawn';

describe('concurrent-fs id --json', () => {
  it.each(['snowflake', 'uuidv7'])('prints one {"id","format"} object a line, increasing (%s)', async (format) => {
    const run = await runCli(['id', '--json', '--count', '20000', '--format', format]);
    expect(run.code).toBe(0);
    const rows = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; format: string });
    expect(rows).toHaveLength(20000);
    expect(new Set(rows.map((r) => r.format))).toEqual(new Set([format]));
    expect(Object.keys(rows[0] ?? {})).toEqual(['id', 'format']);
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ordered =
      format === 'snowflake'
        ? ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1] as string))
        : ids.every((id, i) => i === 0 || id > (ids[i - 1] as string));
    expect(ordered).toBe(true);
  });

  it('without --json the same IDs are bare lines', async () => {
    const run = await runCli(['id', '--count', '3', '--worker', '5']);
    expect(run.stdout).toMatch(/^(\d+\n){3}$/);
  });
});

/** Runs the bash completion function as bash would for the words typed so far. */
function bashComplete(words: string[]): string[] {
  const script = `
    source <(node ${JSON.stringify(CLI)} completion bash) || exit 9
    complete -p concurrent-fs || exit 8
    COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
    COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
    func=$(complete -p concurrent-fs | sed -E 's/.*-F ([^ ]+).*/\\1/')
    "$func" concurrent-fs "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\\n' "\${COMPREPLY[@]}"
  `;
  const run = runSync(['bash', '-c', script]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const [registration, ...replies] = run.stdout.trim().split('\n');
  expect(registration).toMatch(/^complete .*-F \S+ concurrent-fs$/);
  return replies.filter((r) => r !== '');
}

describe('concurrent-fs completion', () => {
  it('bash: sourcing it registers a completion for concurrent-fs that completes commands', () => {
    expect(bashComplete(['concurrent-fs', 'st'])).toEqual(['status']);
    expect(bashComplete(['concurrent-fs', ''])).toEqual(expect.arrayContaining(['lock', 'status', 'write', 'id', 'demo', 'completion']));
  });

  it("bash: completes each command's flags", () => {
    expect(bashComplete(['concurrent-fs', 'id', '--'])).toEqual(
      expect.arrayContaining(['--count', '--format', '--json', '--lease', '--worker']),
    );
    expect(bashComplete(['concurrent-fs', 'lock', '--n'])).toEqual(['--nonblock']);
    expect(bashComplete(['concurrent-fs', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  // zsh and fish are not installed here: their scripts are checked as text only.
  it.each([
    ['zsh', ['compdef _concurrent_fs concurrent-fs', "'status:", 'id) flags=(--count --format --worker --lease --json -h --help)']],
    ['fish', ['-a status -d', "-n '__fish_seen_subcommand_from id' -l json", "-n '__fish_seen_subcommand_from lock' -s n"]],
  ])('%s: prints a script with every command and its flags', async (shell, expected) => {
    const run = await runCli(['completion', shell as string]);
    expect(run.code).toBe(0);
    for (const text of expected) expect(run.stdout).toContain(text);
  });

  it('refuses an unknown shell with usage (exit 2)', async () => {
    const run = await runCli(['completion', 'tcsh']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: concurrent-fs completion');
  });
});
