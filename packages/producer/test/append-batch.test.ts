import { encodeMessage, toCommander } from '@tributary/core';
import { appendMode } from '../src/append-mode.js';
import { appendBatch } from '../src/batch-script.js';
import { created, ordersTopic, useRedis, xrange } from './fixtures.js';

const redis = useRedis();

describe('appendBatch', () => {
  // Guards the precondition of dropping a batch's field text once the call is made (so that it
  // is collected while Redis works): packing must happen before appendBatch returns. Whether the
  // text is really released is measured in the benchmark, not asserted here.
  it('has packed the entries when it returns: changing them afterwards changes nothing written', async () => {
    const topic = ordersTopic('none');
    const now = Date.now();
    const entries = [0, 1, 2].map((n) => encodeMessage(topic, created(n), now));
    const expected = entries.map((fields) => [...fields]);
    const target = { commander: toCommander(redis.redis), stream: topic.keys.stream, commandOptions: undefined };
    const outcome = appendBatch(target, appendMode(topic.keys.stream, 'none', false).scriptHead(now), entries);
    for (const fields of entries) fields.fill('changed');
    entries.length = 0;

    const { ids, failure } = await outcome;
    expect(failure).toBeUndefined();
    const stored = await xrange(redis.client, topic.keys.stream);
    expect(stored.map(([id]) => id)).toEqual(ids);
    expect(stored.map(([, fields]) => fields)).toEqual(expected);
  });
});
