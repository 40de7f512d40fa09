import { defineTopic, type RedisClientLike, type Retention } from '@tributary/core';
import { type RedisServer, startRedis, uniqueName } from '@tributary/test-utils';
import { createClient, ErrorReply, SocketClosedUnexpectedlyError } from 'redis';
import { z } from 'zod';

/** A connected node-redis client as the tests use it. */
export type TestClient = ReturnType<typeof createClient>;

/** A private redis-server and a client on it, for one test file. */
export interface RedisFixture {
  readonly server: RedisServer;
  readonly client: TestClient;
  /** The same client, typed as what `createProducer` takes. */
  readonly redis: RedisClientLike;
}

/**
 * Starts a redis-server in `beforeAll` and connects a client; closes the client and stops the
 * server in `afterAll`. Read the fields inside tests only (they are set in `beforeAll`).
 */
export function useRedis(): RedisFixture {
  let server: RedisServer | undefined;
  let client: TestClient | undefined;
  beforeAll(async () => {
    server = await startRedis();
    client = createClient({ url: server.url });
    client.on('error', () => {
      // The tests assert on command results; a socket error shows up there.
    });
    await client.connect();
  });
  afterAll(async () => {
    if (client?.isOpen) await client.close();
    await server?.stop();
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only available inside tests (after beforeAll)`);
    return value;
  };
  return {
    get server() {
      return need(server, 'server');
    },
    get client() {
      return need(client, 'client');
    },
    get redis() {
      return need(client, 'client') as unknown as RedisClientLike;
    },
  };
}

/** The payload schemas of the test topics. */
export const orderTypes = {
  'order.created': z.object({ orderId: z.string(), amount: z.number().nonnegative() }),
  'order.cancelled': z.object({ orderId: z.string(), reason: z.string().optional() }),
};

/** A fresh topic with a unique name, so tests never share a stream. */
export function ordersTopic(retention?: Retention) {
  return defineTopic({ name: uniqueName('orders'), types: orderTypes, ...(retention === undefined ? {} : { retention }) });
}

/** A valid `order.created` message with amount `n`. */
export function created(n: number) {
  return { type: 'order.created' as const, data: { orderId: `o-${n}`, amount: n } };
}

/** One stream entry as XRANGE returns it through a RESP3 client: `[id, [field, value…]]`. */
export type RawStreamEntry = [id: string, fields: string[]];

/** All entries of a stream, oldest first. */
export async function xrange(client: TestClient, key: string): Promise<RawStreamEntry[]> {
  return (await client.sendCommand(['XRANGE', key, '-', '+'])) as RawStreamEntry[];
}

/** XLEN of a stream (0 when it does not exist). */
export async function xlen(client: TestClient, key: string): Promise<number> {
  return Number(await client.sendCommand(['XLEN', key]));
}

/** Does the key exist? */
export async function exists(client: TestClient, key: string): Promise<boolean> {
  return Number(await client.sendCommand(['EXISTS', key])) === 1;
}

/** The `data` payloads of a stream's entries, parsed, oldest first. */
export async function payloads(client: TestClient, key: string): Promise<unknown[]> {
  return (await xrange(client, key)).map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1]!) as unknown);
}

/** One command as {@link interceptCommands} hands it over, with the way to send it for real. */
export interface InterceptedCommand {
  readonly args: readonly (string | Buffer)[];
  /** Sends the command to Redis unchanged and returns the real reply. */
  send(): Promise<unknown>;
}

/**
 * The real client (standalone or cluster), except that every command goes through `hook`, which
 * may look at it, send it, or fail it the way a broken connection would. The server's behaviour
 * is never imitated: what reaches Redis is the real command, and what it answers is real.
 */
export function interceptCommands(client: RedisClientLike, hook: (command: InterceptedCommand) => Promise<unknown>): RedisClientLike {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'sendCommand') return Reflect.get(target, property, receiver) as unknown;
      // Standalone: sendCommand(args, options); cluster: sendCommand(key, readonly, args, options).
      return (...call: unknown[]) => {
        const args = (Array.isArray(call[0]) ? call[0] : call[2]) as (string | Buffer)[];
        return hook({ args, send: () => target.sendCommand(...call) });
      };
    },
  });
}

/**
 * What a producer sends, one word per command: `XADD`, `EVALSHA` (an idempotent publish), or
 * `batch×n` for a call of the batch script (EVAL) appending n entries.
 */
export function recordCommands(client: RedisClientLike): { readonly redis: RedisClientLike; readonly sent: string[] } {
  const sent: string[] = [];
  const redis = interceptCommands(client, (command) => {
    const [name] = command.args;
    const packed = command.args[command.args.length - 1];
    // The batch script's last argument is the MessagePack array of entries: fixarray or array32.
    if (name === 'EVAL' && Buffer.isBuffer(packed)) sent.push(`batch×${packed[0] === 0xdd ? packed.readUInt32BE(1) : packed[0]! & 0x0f}`);
    else sent.push(String(name));
    return command.send();
  });
  return { redis, sent };
}

/**
 * The real client, except that the `failAt`-th script call (EVALSHA/EVAL) fails the way `fault`
 * says: `'lost-after-send'` runs it on the server and then rejects as a dropped connection would;
 * `'refused'` rejects with an error reply without sending it.
 */
export function failingScriptCall(client: RedisClientLike, failAt: number, fault: 'lost-after-send' | 'refused'): RedisClientLike {
  let calls = 0;
  return interceptCommands(client, async (command) => {
    const isScript = command.args[0] === 'EVALSHA' || command.args[0] === 'EVAL';
    if (isScript && ++calls === failAt) {
      if (fault === 'refused') throw new ErrorReply('ERR injected refusal');
      await command.send();
      throw new SocketClosedUnexpectedlyError();
    }
    return command.send();
  });
}
