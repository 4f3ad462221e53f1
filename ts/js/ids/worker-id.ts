// A worker ID derived from the machine, without coordination, as the core's
// id/worker_id.rs.
import { hostname, networkInterfaces } from 'node:os';

/** FNV-1a 64 over the bytes, then SplitMix64's finaliser (as the core's worker_id.rs). */
function fingerprint(parts: Uint8Array[]): bigint {
  const mask = 2n ** 64n - 1n;
  let hash = 0xcbf29ce484222325n;
  for (const part of parts) {
    for (const byte of part) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & mask;
  }
  hash = ((hash ^ (hash >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
  hash = ((hash ^ (hash >> 27n)) * 0x94d049bb133111ebn) & mask;
  return hash ^ (hash >> 31n);
}

/** MACs of the interfaces Node sees (those with an address); may differ from the core's. */
function macAddresses(): string[] {
  const macs = Object.values(networkInterfaces()).map((addresses) => addresses?.[0]?.mac ?? '');
  return macs.filter((mac) => /[1-9a-f]/i.test(mac)).sort();
}

let machineFingerprint: bigint | undefined;

export function machineWorkerId(bits: number): number {
  if (machineFingerprint === undefined) {
    const pid = new Uint8Array(new Uint32Array([process.pid]).buffer);
    const text = (s: string) => new TextEncoder().encode(s);
    machineFingerprint = fingerprint([text(hostname()), new Uint8Array([0]), pid, ...macAddresses().map(text)]);
  }
  return Number(machineFingerprint & ((1n << BigInt(bits)) - 1n));
}
