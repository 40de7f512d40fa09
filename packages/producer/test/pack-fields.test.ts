import { packFields } from '../src/pack-fields.js';
import { useRedis } from './fixtures.js';

const redis = useRedis();

/** Decodes with the server's own cmsgpack, as the publish script does. */
async function unpackOnServer(packed: Buffer): Promise<unknown> {
  return redis.client.sendCommand(['EVAL', 'return cmsgpack.unpack(ARGV[1])', '0', packed]);
}

describe('packFields', () => {
  it('round-trips through Redis cmsgpack, whatever the string', async () => {
    const entries = [
      ['type', 'order.created', 'data', '{"a":1}', 'id', 'x', 'ts', '1'],
      ['', 'ü', 'é'.repeat(85), '€'.repeat(85), '€'.repeat(86), '🚀 rocket', '中文', 'a'.repeat(70_000)],
      Array.from({ length: 20 }, (_, k) => `f${k}`),
      [],
    ];
    expect(await unpackOnServer(packFields(entries))).toEqual(entries);
  });

  it('packs an empty list', async () => {
    expect(await unpackOnServer(packFields([]))).toEqual([]);
  });

  it('uses the compact headers for short strings and small arrays', () => {
    expect([...packFields([['ab']])]).toEqual([0x91, 0x91, 0xd9, 2, 0x61, 0x62]);
  });
});
