import { createClient, createCluster } from 'redis';
import { type RedisCluster, startRedisCluster, uniqueName, waitFor } from '../src/index.js';

/** A connected node-redis client for one node. */
async function connectToNode(url: string) {
  const client = createClient({ url });
  await client.connect();
  return client;
}
type StandaloneClient = Awaited<ReturnType<typeof connectToNode>>;

/** The slot ranges a node serves, from its own `CLUSTER NODES` line (the one flagged `myself`). */
async function ownSlotRanges(client: StandaloneClient): Promise<[number, number][]> {
  const nodes = String(await client.sendCommand(['CLUSTER', 'NODES']));
  const myself = nodes.split('\n').find((line) => line.split(' ')[2]?.split(',').includes('myself'));
  if (!myself) throw new Error(`no myself line in CLUSTER NODES:\n${nodes}`);
  // Fields 9+ are slots: "0-5460" or a single "5461"; importing/migrating markers start with '['.
  return myself
    .split(' ')
    .slice(8)
    .filter((field) => /^\d/.test(field))
    .map((field) => {
      const [from, to] = field.split('-').map(Number);
      return [from as number, to ?? (from as number)];
    });
}

describe('startRedisCluster', () => {
  let cluster: RedisCluster | undefined;
  const clients: { close(): void }[] = [];

  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.stop();
  });

  it('starts 3 masters covering all 16384 slots; keys land on the master owning their slot', async () => {
    cluster = await startRedisCluster();
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.rootNodes).toEqual(cluster.nodes.map((node) => ({ url: node.url })));

    const nodeClients: StandaloneClient[] = [];
    for (const node of cluster.nodes) {
      const client = await connectToNode(node.url);
      nodeClients.push(client);
      clients.push({ close: () => client.destroy() });
      expect(String(await client.sendCommand(['CLUSTER', 'INFO']))).toContain('cluster_state:ok');
    }
    const ranges = await Promise.all(nodeClients.map(ownSlotRanges));
    const coveredSlots = ranges.flat().reduce((sum, [from, to]) => sum + (to - from + 1), 0);
    expect(coveredSlots).toBe(16384);
    expect(ranges.every((nodeRanges) => nodeRanges.length > 0)).toBe(true);

    // Pick one hash tag per master: ask the cluster for candidate tags' slots until each master has one.
    const prefix = uniqueName('tag');
    const tagForNode: (string | undefined)[] = cluster.nodes.map(() => undefined);
    const [firstClient] = nodeClients;
    if (!firstClient) throw new Error('no node clients');
    for (let i = 0; tagForNode.includes(undefined) && i < 1000; i += 1) {
      const tag = `${prefix}-${i}`;
      const slot = Number(await firstClient.sendCommand(['CLUSTER', 'KEYSLOT', `{${tag}}`]));
      const owner = ranges.findIndex((nodeRanges) => nodeRanges.some(([from, to]) => slot >= from && slot <= to));
      if (owner >= 0 && tagForNode[owner] === undefined) tagForNode[owner] = tag;
    }
    expect(tagForNode).not.toContain(undefined);

    const clusterClient = createCluster({ rootNodes: [...cluster.rootNodes] });
    await clusterClient.connect();
    clients.push({ close: () => clusterClient.destroy() });

    const keys = tagForNode.map((tag) => `{${tag}}:key`);
    for (const key of keys) await clusterClient.set(key, 'v');

    // Each master holds exactly its own key. (EXISTS on another master's key would answer MOVED,
    // so list each node's whole keyspace instead: it is tiny.)
    for (const [nodeIndex, client] of nodeClients.entries()) {
      expect(await client.dbSize()).toBe(1);
      expect(await client.keys('*')).toEqual([keys[nodeIndex]]);
      expect(await client.exists(keys[nodeIndex] as string)).toBe(1);
    }

    // Multi-key commands work when the keys share a hash tag (same slot).
    const tag = uniqueName('t');
    await clusterClient.mSet([
      [`{${tag}}a`, '1'],
      [`{${tag}}b`, '2'],
    ]);
    expect(await clusterClient.mGet([`{${tag}}a`, `{${tag}}b`])).toEqual(['1', '2']);
  });

  it('a killed node restarts on its port and rejoins owning the same slots', async () => {
    if (!cluster) throw new Error('first test did not start the cluster');
    for (const client of clients.splice(0)) client.close();
    const [node] = cluster.nodes;
    if (!node) throw new Error('no nodes');
    const before = await connectToNode(node.url);
    const slotsBefore = await ownSlotRanges(before);
    before.destroy();

    await node.kill();
    await node.restart();
    const after = await connectToNode(node.url);
    clients.push({ close: () => after.destroy() });
    await waitFor(async () => String(await after.sendCommand(['CLUSTER', 'INFO'])).includes('cluster_state:ok'), {
      message: 'restarted node to report cluster_state:ok',
    });
    expect(await ownSlotRanges(after)).toEqual(slotsBefore);
  });

  it('stop() is idempotent and leaves no node running', async () => {
    if (!cluster) throw new Error('first test did not start the cluster');
    for (const client of clients.splice(0)) client.close();
    const dirs = cluster.nodes.map((node) => node.dir);
    await Promise.all([cluster.stop(), cluster.stop()]);
    expect(cluster.nodes.map((node) => node.pid)).toEqual([undefined, undefined, undefined]);
    const { existsSync } = await import('node:fs');
    expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
  });

  it('rejects fewer than 3 masters', async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/at least|>= 3/);
  });
});
