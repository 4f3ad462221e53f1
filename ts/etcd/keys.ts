// Where everything lives in etcd, under the coordinator's namespace (default 'cfs/'):
//
//   <ns>lock/<name>/<leaseHex>_<n>   an exclusive lock object's place in the queue of <name>,
//                                    on the session lease, value empty; the oldest create
//                                    revision holds. etcd's own recipe (`etcdctl lock
//                                    <ns>lock/<name>`) puts <ns>lock/<name>/<leaseHex> in the
//                                    same queue.
//   <ns>lock/<name>/shared/<leaseHex>_<n>
//                                    a shared lock object's place, value 'shared': in the
//                                    same queue (etcdctl waits for it too), under a folder of
//                                    its own so that one range read finds the writers ahead.
//   <ns>workers/<name>/<id>          a leased worker ID, on the session lease
//   <ns>worker-marks/<name>/<id>     that ID's high-water mark (Unix ms), with no lease
//
// Names are used as they are, except that '%' and '/' are escaped (%25, %2F): a '/' would
// put one name's keys inside another's prefix range.

function escapeName(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2F');
}

export function lockPrefix(namespace: string, name: string): string {
  return `${namespace}lock/${escapeName(name)}/`;
}

/** A lock object's key: etcd's `<prefix><leaseHex>`, plus `_<n>` so two objects on one session differ. */
export function lockKey(prefix: string, leaseId: string, n: number): string {
  return `${prefix}${leaseHex(leaseId)}_${n}`;
}

/** Where a lock's shared holders queue, inside its prefix. */
export function sharedLockPrefix(prefix: string): string {
  return `${prefix}shared/`;
}

export function workerPrefix(namespace: string, name: string): string {
  return `${namespace}workers/${escapeName(name)}/`;
}

export function markKey(namespace: string, name: string, id: number): string {
  return `${namespace}worker-marks/${escapeName(name)}/${id}`;
}

/** etcd's lease IDs in keys are lowercase hex without padding (Go's `%x`). */
export function leaseHex(leaseId: string): string {
  return BigInt(leaseId).toString(16);
}

/** The `range_end` that makes a range cover every key starting with `prefix` (etcd's `GetPrefixRangeEnd`). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}
