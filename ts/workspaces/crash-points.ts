// Named points in the workspace operations where the crash tests stop a process to kill
// it (`CFS_CRASH_AT=ws.create.after-register`, say). At a matching point the process
// prints `CFS_CRASH_POINT <name> <pid>` on stderr and waits until its stdin ends (its
// parent died, or the test closed it), then carries on: the test kills it while it waits
// (the process, or its group), or kills its parent, so it carries on with closed pipes.
// Unset (always, outside tests) a point costs one environment read, made at the point and
// not at import (Deno asks importers for --allow-env otherwise).

/** Stops at `point` if the crash tests asked for it (see above); else returns at once. */
export async function crashPoint(point: string): Promise<void> {
  if (process.env.CFS_CRASH_AT !== point) return;
  process.stderr.write(`CFS_CRASH_POINT ${point} ${process.pid}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('error', () => resolve());
    process.stdin.on('close', () => resolve());
    process.stdin.resume();
  });
}
