// A TCP proxy between a worker process and Redis that can "freeze the wire" right after a chosen
// command: it forwards that command in full, then forwards nothing more from any client, and
// tells the test, which kill -9s the worker. That makes "the worker dies right after it sent the
// dead-letter write, before anything it would send next (an XACK)" a deterministic point instead
// of a lucky timing.
import { createServer, type Server, Socket } from 'node:net';

/** A parsed client command: its arguments as text. */
export type ProxiedCommand = readonly string[];

/** Decides whether the wire freezes right after `command`. */
export type TripPredicate = (command: ProxiedCommand) => boolean;

export interface ChaosProxy {
  /** `redis://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /**
   * Freezes the wire after the `skip + 1`-th command matching `predicate` from now on. Resolves
   * with that command once it has been forwarded and the wire is frozen.
   */
  armTrip(predicate: TripPredicate, skip?: number): Promise<ProxiedCommand>;
  /** Drops every connection and unfreezes the wire (after the tripped worker was killed). */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Splits complete RESP commands (arrays of bulk strings, which is all node-redis sends) off the
 * front of `buffer`. Returns the commands with their byte lengths, and the unparsed rest.
 */
function parseCommands(buffer: Buffer): { commands: { args: string[]; bytes: number }[]; rest: Buffer } {
  const commands: { args: string[]; bytes: number }[] = [];
  let offset = 0;
  for (;;) {
    const start = offset;
    if (offset >= buffer.length) break;
    if (buffer[offset] !== 0x2a /* '*' */) throw new Error(`proxy: unexpected RESP byte ${buffer[offset]} (inline commands are not supported)`);
    const headerEnd = buffer.indexOf('\r\n', offset);
    if (headerEnd < 0) break;
    const count = Number(buffer.toString('latin1', offset + 1, headerEnd));
    offset = headerEnd + 2;
    const args: string[] = [];
    let complete = true;
    for (let i = 0; i < count; i++) {
      const lenEnd = buffer.indexOf('\r\n', offset);
      if (lenEnd < 0) { complete = false; break; }
      const length = Number(buffer.toString('latin1', offset + 1, lenEnd));
      const dataStart = lenEnd + 2;
      if (dataStart + length + 2 > buffer.length) { complete = false; break; }
      args.push(buffer.toString('utf8', dataStart, dataStart + length));
      offset = dataStart + length + 2;
    }
    if (!complete) {
      offset = start;
      break;
    }
    commands.push({ args, bytes: offset - start });
  }
  return { commands, rest: buffer.subarray(offset) };
}

/** Starts a proxy on a free loopback port in front of `target` (`127.0.0.1:<port>`). */
export async function startChaosProxy(targetPort: number): Promise<ChaosProxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  let trip: { predicate: TripPredicate; skip: number; resolve: (command: ProxiedCommand) => void } | undefined;

  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    upstream.connect(targetPort, '127.0.0.1');
    upstream.on('data', (chunk) => {
      if (!client.destroyed) client.write(chunk);
    });
    client.on('data', (chunk) => {
      if (frozen) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let parsed;
      try {
        parsed = parseCommands(pending);
      } catch {
        drop();
        return;
      }
      let forward = 0;
      for (const command of parsed.commands) {
        forward += command.bytes;
        if (trip && trip.predicate(command.args)) {
          if (trip.skip > 0) {
            trip.skip--;
            continue;
          }
          // Forward exactly up to the end of this command, then nothing more from anyone.
          upstream.write(pending.subarray(0, forward));
          frozen = true;
          const { resolve } = trip;
          trip = undefined;
          pending = Buffer.alloc(0);
          resolve(command.args);
          return;
        }
      }
      if (forward > 0) upstream.write(pending.subarray(0, forward));
      pending = parsed.rest.length === 0 ? Buffer.alloc(0) : Buffer.from(parsed.rest);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy: no port');

  return {
    url: `redis://127.0.0.1:${address.port}`,
    armTrip(predicate, skip = 0) {
      return new Promise((resolve) => {
        trip = { predicate, skip, resolve };
      });
    },
    reset() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      frozen = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
