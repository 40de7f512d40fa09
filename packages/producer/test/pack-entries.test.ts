import { packEntries } from '../src/pack-entries.js';
import { useRedis } from './fixtures.js';

const redis = useRedis();

/** Decodes with the server's own cmsgpack, as the batch script does. */
async function unpackOnServer(packed: Buffer): Promise<unknown> {
  return redis.client.sendCommand(['EVAL', 'return cmsgpack.unpack(ARGV[1])', '0', packed]);
}

const entry = (type: string, data: string, id: string, ts: string, ...headers: string[]) => ['type', type, 'data', data, 'id', id, 'ts', ts, ...headers];

describe('packEntries', () => {
  it('round-trips the values through Redis cmsgpack, whatever the string', async () => {
    const headers = Array.from({ length: 20 }, (_, k) => `h:${k}`);
    const entries = [
      entry('order.created', '{"a":1}', 'x', '1'),
      entry('', 'ü', 'é'.repeat(85), '€'.repeat(85), 'h:a', '€'.repeat(86), 'h:🚀', '中文', 'h:big', 'a'.repeat(70_000)),
      entry('t', 'd', 'i', 's', ...headers),
    ];
    expect(await unpackOnServer(packEntries(entries))).toEqual([
      ['order.created', '{"a":1}', 'x', '1'],
      ['', 'ü', 'é'.repeat(85), '€'.repeat(85), 'h:a', '€'.repeat(86), 'h:🚀', '中文', 'h:big', 'a'.repeat(70_000)],
      ['t', 'd', 'i', 's', ...headers],
    ]);
  });

  it('packs an empty list', async () => {
    expect(await unpackOnServer(packEntries([]))).toEqual([]);
  });

  it('uses the compact headers for short strings and small arrays', () => {
    expect([...packEntries([entry('a', 'b', 'c', 'd')])]).toEqual([0x91, 0x94, 0xd9, 1, 0x61, 0xd9, 1, 0x62, 0xd9, 1, 0x63, 0xd9, 1, 0x64]);
  });

  it('refuses a field layout it does not know', () => {
    expect(() => packEntries([['data', 'x', 'type', 'y', 'id', 'z', 'ts', '1']])).toThrow(/unexpected field layout/);
  });
});
