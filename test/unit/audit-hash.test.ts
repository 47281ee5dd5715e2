import { canonicalJson, rowHash, GENESIS_HASH } from '../../src/audit/audit';

const row = {
  ts: new Date('2026-11-22T10:00:00.123Z'),
  actor_type: 'user',
  actor_id: '5b0c7a36-2f7e-4c62-9d4e-6a1f5e7f0d11',
  action: 'api_key.create',
  target_type: 'api_key',
  target_id: 'k1',
  ip: '127.0.0.1',
  request_id: 'req_1',
  before: null,
  after: { name: 'laptop', scopes: ['chat'], nested: { b: 1, a: 2 } },
};

describe('audit hash chain', () => {
  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('hashes a row read back from the database like the row that was written', () => {
    const written = rowHash(GENESIS_HASH, row);
    const readBack = { ...row, id: 17, prev_hash: GENESIS_HASH, hash: written, after: { nested: { a: 2, b: 1 }, scopes: ['chat'], name: 'laptop' } };
    expect(rowHash(GENESIS_HASH, readBack)).toBe(written);
  });

  it('changes when any content field or the previous hash changes', () => {
    const base = rowHash(GENESIS_HASH, row);
    expect(rowHash('f'.repeat(64), row)).not.toBe(base);
    expect(rowHash(GENESIS_HASH, { ...row, action: 'api_key.revoke' })).not.toBe(base);
    expect(rowHash(GENESIS_HASH, { ...row, after: { ...row.after, name: 'other' } })).not.toBe(base);
    expect(rowHash(GENESIS_HASH, { ...row, ts: new Date('2026-11-22T10:00:00.124Z') })).not.toBe(base);
  });
});
