// The hand-written protobuf codec of etcd's KV messages (ts/etcd/kv-codec.ts), which
// every lock acquire and release goes through, checked against protobufjs as etcd3
// configures it (proto-loader over etcd3's own rpc.proto) on generated messages:
// requests encode to the same bytes, responses (with unknown fields added and cut
// short anywhere) decode to the same objects or fail alike. No server needed.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Codec = typeof import('../dist/etcd/kv-codec');
const codec: Codec = require('../dist/etcd/kv-codec.js');

interface MethodDefinition {
  requestSerialize(value: unknown): Buffer;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}
const etcd3Dir = dirname(require.resolve('etcd3/package.json'));
const protoLoader = createRequire(join(etcd3Dir, 'package.json'))('@grpc/proto-loader') as {
  loadSync(file: string, options: object): Record<string, Record<string, MethodDefinition>>;
};
// The options etcd3 1.1 loads its protos with (lib/connection-pool.js).
const definitions = protoLoader.loadSync(join(etcd3Dir, 'proto', 'rpc.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const kv = definitions['etcdserverpb.KV'] as Record<'Txn' | 'Range', MethodDefinition>;

// ---- generated messages, in etcd3's shape (every field optional) ------------------------

const bytes = fc.uint8Array({ maxLength: 24 }).map((array) => Buffer.from(array));
const int64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  fc.integer({ min: 0, max: 2 ** 40 }),
  fc.constantFrom('0', 0, '1', '9007199254740993'),
);
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const optional = <T>(record: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(record, { requiredKeys: [] });
const enumOf = <const N extends string>(names: readonly N[]): fc.Arbitrary<N | number> =>
  fc.oneof(fc.constantFrom(...names), fc.integer({ min: 0, max: names.length - 1 }));

const rangeRequest = optional({
  key: bytes,
  range_end: bytes,
  limit: int64,
  revision: int64,
  sort_order: enumOf(['None', 'Ascend', 'Descend']),
  sort_target: enumOf(['Key', 'Version', 'Create', 'Mod', 'Value']),
  serializable: fc.boolean(),
  keys_only: fc.boolean(),
  count_only: fc.boolean(),
  min_mod_revision: int64,
  max_mod_revision: int64,
  min_create_revision: int64,
  max_create_revision: int64,
});
const putRequest = optional({
  key: bytes,
  value: bytes,
  lease: int64,
  prev_kv: fc.boolean(),
  ignore_value: fc.boolean(),
  ignore_lease: fc.boolean(),
});
const deleteRangeRequest = optional({ key: bytes, range_end: bytes, prev_kv: fc.boolean() });
/** A Compare sets at most one member of its target_union oneof. */
const compare = fc
  .tuple(
    optional({
      result: enumOf(['Equal', 'Greater', 'Less', 'NotEqual']),
      target: enumOf(['Version', 'Create', 'Mod', 'Value', 'Lease']),
      key: bytes,
      range_end: bytes,
    }),
    fc.option(
      fc.oneof(
        int64.map((version) => ({ version })),
        int64.map((create_revision) => ({ create_revision })),
        int64.map((mod_revision) => ({ mod_revision })),
        bytes.map((value) => ({ value })),
        int64.map((lease) => ({ lease })),
      ),
      { nil: undefined },
    ),
  )
  .map(([fields, target]) => ({ ...fields, ...target }));

const { txnRequest } = fc.letrec<{ txnRequest: object; requestOp: object }>((tie) => ({
  txnRequest: optional({
    compare: fc.array(compare, { maxLength: 3 }),
    success: fc.array(tie('requestOp'), { maxLength: 3 }),
    failure: fc.array(tie('requestOp'), { maxLength: 3 }),
  }),
  requestOp: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rangeRequest.map((request_range) => ({ request_range })),
    putRequest.map((request_put) => ({ request_put })),
    deleteRangeRequest.map((request_delete_range) => ({ request_delete_range })),
    tie('txnRequest').map((request_txn) => ({ request_txn })),
  ),
}));

const header = optional({ cluster_id: uint64, member_id: uint64, revision: int64, raft_term: uint64 });
const keyValue = optional({ key: bytes, create_revision: int64, mod_revision: int64, version: int64, value: bytes, lease: int64 });
const rangeResponse = optional({ header, kvs: fc.array(keyValue, { maxLength: 3 }), more: fc.boolean(), count: int64 });
const { txnResponse } = fc.letrec<{ txnResponse: object; responseOp: object }>((tie) => ({
  txnResponse: optional({ header, succeeded: fc.boolean(), responses: fc.array(tie('responseOp'), { maxLength: 3 }) }),
  responseOp: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rangeResponse.map((response_range) => ({ response_range })),
    optional({ header, prev_kv: keyValue }).map((response_put) => ({ response_put })),
    optional({ header, deleted: int64, prev_kvs: fc.array(keyValue, { maxLength: 2 }) }).map((response_delete_range) => ({
      response_delete_range,
    })),
    tie('txnResponse').map((response_txn) => ({ response_txn })),
  ),
}));

/** A varint's bytes. */
function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (; v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
  out.push(Number(v));
  return out;
}

/** A field this codec does not know (a newer etcd's): a varint or a length-delimited one, numbered past etcd's. */
const unknownField = fc.oneof(
  fc
    .tuple(fc.integer({ min: 9, max: 40 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
    .map(([field, value]) => Buffer.from([...varint(BigInt(field * 8)), ...varint(value)])),
  fc
    .tuple(fc.integer({ min: 9, max: 40 }), bytes)
    .map(([field, value]) => Buffer.concat([Buffer.from([...varint(BigInt(field * 8 + 2)), ...varint(BigInt(value.length))]), value])),
);

/** Both decoders on the same bytes: the same object, or both refuse. */
function expectSameDecoding(bytes: Buffer, ours: (bytes: Buffer) => unknown, theirs: (bytes: Buffer) => unknown): void {
  let expected: unknown;
  try {
    expected = theirs(bytes);
  } catch {
    expect(() => ours(bytes)).toThrow(RangeError);
    return;
  }
  expect(ours(bytes)).toEqual(expected);
}

describe('the etcd KV codec against protobufjs (as etcd3 configures it)', () => {
  it('encodes generated TxnRequests, nested txns included, to the same bytes', () => {
    fc.assert(
      fc.property(txnRequest, (request) => {
        expect(codec.encodeTxnRequest(request).equals(kv.Txn.requestSerialize(request))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes generated RangeRequests to the same bytes', () => {
    fc.assert(
      fc.property(rangeRequest, (request) => {
        expect(codec.encodeRangeRequest(request).equals(kv.Range.requestSerialize(request))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes generated TxnResponses, with unknown fields added, to the same objects (defaults, oneof names, int64s as strings)', () => {
    fc.assert(
      fc.property(txnResponse, fc.array(unknownField, { maxLength: 2 }), (response, unknown) => {
        const bytes = Buffer.concat([kv.Txn.responseSerialize(response), ...unknown]);
        expectSameDecoding(bytes, codec.decodeTxnResponse, kv.Txn.responseDeserialize);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes generated RangeResponses to the same objects', () => {
    fc.assert(
      fc.property(rangeResponse, (response) => {
        expectSameDecoding(kv.Range.responseSerialize(response), codec.decodeRangeResponse, kv.Range.responseDeserialize);
      }),
      { numRuns: 500 },
    );
  });

  it('a response cut short anywhere decodes as protobufjs decodes it, or is refused with a RangeError as protobufjs refuses it', () => {
    fc.assert(
      fc.property(txnResponse, fc.nat(), (response, cutAt) => {
        const bytes = kv.Txn.responseSerialize(response);
        expectSameDecoding(bytes.subarray(0, cutAt % (bytes.length + 1)), codec.decodeTxnResponse, kv.Txn.responseDeserialize);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses field number 0 (no protobuf message has one) as protobufjs does', () => {
    const bytes = Buffer.from([0x80, 0x00]);
    expect(() => kv.Txn.responseDeserialize(bytes)).toThrow();
    expect(() => codec.decodeTxnResponse(bytes)).toThrow(RangeError);
  });

  it('refuses an enum name etcd does not have, before anything is sent', () => {
    expect(() => codec.encodeTxnRequest({ compare: [{ key: Buffer.from('k'), target: 'Created' as 'Create' }] })).toThrow(
      /unknown enum value 'Created'/,
    );
  });
});
