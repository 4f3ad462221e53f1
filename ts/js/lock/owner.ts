// Who holds a lock, and whether that holder is provably gone.
//
// A lock file outlives a crashed holder, so the fallback must tell a dead holder from a
// live one. A pid alone is not enough: pids are reused (quickly on Windows, and in
// containers every service is pid 1 or close), so an owner is identified by
// (host, pid, start), and on Linux also by boot and PID namespace:
// - `start`: on Linux, the process's start time in clock ticks since boot, field 22 of
//   /proc/<pid>/stat, readable for any pid, so a reused pid is recognised. Elsewhere,
//   the start time in ms, which only this process can check (for its own pid).
// - `boot`: Linux's boot id. A different boot means the owner died in a reboot.
// - `pidNs`: Linux's PID namespace. Containers sharing a hostname and a volume see
//   each other's pids as unrelated processes, so an owner there is never judged.
//
// The rule is one-sided: "gone" only when we are sure. An owner on another host (or in
// another PID namespace) is never gone: we cannot tell, and breaking a live lock is
// worse than waiting.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { hasCode } from '../fs-error';

export interface Owner {
  pid: number;
  host: string;
  /** `proc:<ticks since boot>` (Linux) or `ms:<epoch ms>`. */
  start: string;
  boot?: string;
  pidNs?: string;
}

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim();
  } catch {
    return undefined;
  }
}

interface ProcStat {
  /** One letter: R running, S sleeping, Z zombie, X dead ... */
  state: string;
  startTicks: string;
}

/** Fields after the command name, which is in parentheses and may hold spaces and ')'. */
function readProcStat(pid: number | 'self'): ProcStat | undefined {
  const stat = readOrUndefined(() => fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields?.[0] === undefined || fields[19] === undefined) return undefined;
  return { state: fields[0], startTicks: fields[19] };
}

function identifySelf(): Owner {
  const host = hostname();
  const stat = readProcStat('self');
  if (stat === undefined) {
    return { pid: process.pid, host, start: `ms:${Math.round(Date.now() - process.uptime() * 1000)}` };
  }
  return {
    pid: process.pid,
    host,
    start: `proc:${stat.startTicks}`,
    boot: readOrUndefined(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1')),
    pidNs: readOrUndefined(() => fs.readlinkSync('/proc/self/ns/pid')),
  };
}

let identity: Owner | undefined;

/**
 * This process, as its lock files name it. Worker threads compute the same identity.
 * Computed on first use, not at import: `os.hostname()` at import would make Deno ask
 * every importer for `--allow-sys`.
 */
export function selfOwner(): Owner {
  identity ??= identifySelf();
  return identity;
}

/**
 * Another live process of this host as a lock file would name it (for a pid lease that a
 * process records for a longer-lived one): its start time from /proc on Linux; elsewhere
 * no start time can be read for another pid, so only its disappearance proves it gone.
 * Undefined when no process `pid` exists.
 */
export function identifyProcess(pid: number): Owner | undefined {
  if (pid === process.pid) return selfOwner();
  if (!pidExists(pid)) return undefined;
  const self = selfOwner();
  const stat = readProcStat(pid);
  if (!self.start.startsWith('proc:')) return { pid, host: self.host, start: 'unknown' };
  if (stat === undefined || stat.state === 'Z') return undefined;
  const owner: Owner = { pid, host: self.host, start: `proc:${stat.startTicks}` };
  if (self.boot !== undefined) owner.boot = self.boot;
  // The pid is a number in our PID namespace, whatever namespace the process runs in.
  if (self.pidNs !== undefined) owner.pidNs = self.pidNs;
  return owner;
}

/** True only when `owner` is provably no longer running. */
export function isOwnerGone(owner: Owner): boolean {
  const self = selfOwner();
  if (owner.host !== self.host || owner.pidNs !== self.pidNs) return false;
  if (owner.boot !== undefined && self.boot !== undefined && owner.boot !== self.boot) return true;
  if (owner.pid === self.pid) return !sameStart(owner.start, self.start);
  if (!pidExists(owner.pid)) return true;
  if (!self.start.startsWith('proc:')) return false;
  const stat = readProcStat(owner.pid);
  // Unreadable /proc entry: it exited just now, or /proc hides it (hidepid). Ask again.
  if (stat === undefined) return !pidExists(owner.pid);
  // A zombie is dead; it only waits for its parent to collect its exit status.
  if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return true;
  return owner.start.startsWith('proc:') && owner.start !== `proc:${stat.startTicks}`;
}

function sameStart(a: string, b: string): boolean {
  if (a.startsWith('ms:') && b.startsWith('ms:')) {
    // Computed from two clocks in each thread: allow for rounding, not for a new process.
    return Math.abs(Number(a.slice(3)) - Number(b.slice(3))) < 1000;
  }
  // Different kinds cannot be compared: assume the same process, the safe side.
  return a === b || a.startsWith('proc:') !== b.startsWith('proc:');
}

/** Signal 0 checks existence without signalling; EPERM means it exists but is not ours. */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !hasCode(err, 'ESRCH');
  }
}
