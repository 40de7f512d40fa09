import { createConnection } from 'node:net';

/** An error reply (`-ERR …`, `-LOADING …`) from Redis, returned as a value rather than thrown. */
export class RespErrorReply extends Error {
  override readonly name = 'RespErrorReply';
}

/** A decoded RESP2 reply. */
export type RespReply = string | number | null | RespErrorReply | RespReply[];

/** Options for {@link sendRawCommands}. */
export interface RawCommandOptions {
  host?: string;
  /** Whole round trip, connect included. Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * Sends commands over one fresh TCP connection and resolves with one decoded reply per command.
 *
 * Deliberately not node-redis: readiness probes hit servers that are still starting, loading or
 * already dead, and we want one attempt with a hard timeout and the raw answer (e.g. `-LOADING`),
 * not a client that reconnects, queues and emits `error` events.
 *
 * @param port - port on `host` (default 127.0.0.1).
 * @param commands - e.g. `[['PING'], ['INFO', 'server']]`.
 * @param options - host and timeout.
 */
export function sendRawCommands(
  port: number,
  commands: readonly (readonly string[])[],
  options: RawCommandOptions = {},
): Promise<RespReply[]> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 1000;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | undefined, replies?: RespReply[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(replies ?? []);
    };
    const timer = setTimeout(
      () => finish(new Error(`no complete reply from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        const replies = parseReplies(buffer, commands.length);
        if (replies) finish(undefined, replies);
      } catch (error: unknown) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`${host}:${port} closed the connection before replying`)));
  });
}

function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** Parses `count` replies from the start of `buffer`, or returns undefined if more bytes are needed. */
function parseReplies(buffer: Buffer, count: number): RespReply[] | undefined {
  const replies: RespReply[] = [];
  let offset = 0;
  while (replies.length < count) {
    const parsed = parseReply(buffer, offset);
    if (!parsed) return undefined;
    replies.push(parsed.value);
    offset = parsed.next;
  }
  return replies;
}

function parseReply(buffer: Buffer, offset: number): { value: RespReply; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespErrorReply(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return { value: buffer.toString('utf8', afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      const items: RespReply[] = [];
      let next = afterLine;
      for (let i = 0; i < length; i += 1) {
        const item = parseReply(buffer, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      // Something other than Redis answered on this port.
      throw new Error(`not a RESP reply (starts with ${JSON.stringify(buffer.toString('utf8', offset, offset + 20))})`);
  }
}
