// Whether a terminal's keyboard signals (Ctrl-C's SIGINT, Ctrl-\'s SIGQUIT) reach a child
// by themselves: the terminal sends them to its whole foreground process group, so a
// child in that group already has one, and passing ours on would deliver it twice.
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';

/** `pgrp` and `tpgid` (the terminal's foreground group, -1 without one) from /proc/PID/stat. */
function processGroups(pid: number | 'self'): { pgrp: number; tpgid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp session tty_nr tpgid ...": comm may hold spaces and ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(fields[2]), tpgid: Number(fields[5]) };
  } catch {
    return undefined; // no /proc, or the child is already gone
  }
}

/**
 * True when we are in the foreground process group of our controlling terminal and
 * `childPid` is in our group: then Ctrl-C has reached the child already. Linux reads it
 * from /proc; elsewhere a terminal on stdin, stdout or stderr stands in for it (we never
 * start the child in a group of its own).
 */
export function keyboardSignalsReach(childPid: number): boolean {
  if (process.platform !== 'linux') return isatty(0) || isatty(1) || isatty(2);
  const self = processGroups('self');
  if (self === undefined || self.tpgid !== self.pgrp) return false;
  return processGroups(childPid)?.pgrp === self.pgrp;
}
