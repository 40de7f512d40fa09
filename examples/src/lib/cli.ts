// Small helpers shared by the example scripts: flags, the Redis connection, graceful stop, the
// final summary line, and deleting an example topic's keys. Nothing here is Tributary API.
import type { RedisClientType } from 'redis';
import { connectRedis, type Topic } from '@tributary/core';

/** The Redis the examples use: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export function redisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** Prints `message` and exits with code 2 (bad usage). */
export function usageError(message: string, usage: string): never {
  console.error(`${message}\nusage: ${usage}`);
  process.exit(2);
}

/** Runs a flag parser (node:util's parseArgs); a parse error (unknown flag…) is a usage error. */
export function parseFlags<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (error) {
    return usageError((error as Error).message, usage);
  }
}

/** A positive integer flag value, or `fallback` when absent. */
export function positiveInt(value: string | undefined, name: string, usage: string): number | undefined;
export function positiveInt(value: string | undefined, name: string, usage: string, fallback: number): number;
export function positiveInt(value: string | undefined, name: string, usage: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) usageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`, usage);
  return n;
}

/**
 * Connects with core's `connectRedis` (no per-command timer, keep-alive PINGs, jittered
 * reconnects). If nothing answers, says so in one line and exits 1.
 */
export async function connect(url = redisUrl()): Promise<RedisClientType> {
  try {
    return await connectRedis({ url });
  } catch (error) {
    console.error(
      `cannot reach Redis at ${url} (${(error as Error).message || String(error)}): start one with \`docker compose up -d\` ` +
        'or `redis-server`, or set REDIS_URL',
    );
    process.exit(1);
  }
}

/**
 * An AbortSignal that fires on the first SIGINT (Ctrl-C) or SIGTERM, so the script stops
 * gracefully (workers finish what they run and ack it). A second signal exits at once.
 */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      console.error(`${signal} again: exiting now`);
      process.exit(130);
    }
    console.error(`${signal}: stopping gracefully (press Ctrl-C again to force)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/** Resolves after `ms`, or early when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Polls `check` every `everyMs` until it returns true, `signal` fires, or `timeoutMs` passes. */
export async function until(check: () => boolean | Promise<boolean>, options: { signal?: AbortSignal; timeoutMs?: number; everyMs?: number } = {}): Promise<boolean> {
  const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  for (;;) {
    if (await check()) return true;
    if (options.signal?.aborted || Date.now() >= deadline) return false;
    await sleep(Math.min(options.everyMs ?? 50, Math.max(0, deadline - Date.now())), options.signal);
  }
}

/**
 * Prints the final machine-checkable line: `summary: key=value key=value …` (values without
 * spaces), which the example tests parse.
 */
export function printSummary(fields: Record<string, string | number | boolean>): void {
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${String(value).replace(/\s+/g, '_')}`);
  console.log(`summary: ${parts.join(' ')}`);
}

/**
 * Ends the script with `code` once everything is closed. If some handle still keeps Node alive
 * (it should not), exits anyway after a moment rather than hanging.
 */
export function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}

/**
 * Deletes every key of a topic: all of them start with its `{name}` hash tag (stream, dead
 * letters, checkpoints, idempotency markers, recovery's retry bookkeeping, and the examples'
 * own `{name}:processed` sets). Returns how many were deleted.
 */
export async function deleteTopicKeys(client: RedisClientType, topic: Topic): Promise<number> {
  const pattern = `${topic.keys.stream.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const reply = await client.scan(cursor, { MATCH: pattern, COUNT: 1000 });
    cursor = String(reply.cursor);
    if (reply.keys.length > 0) deleted += await client.unlink(reply.keys);
  } while (cursor !== '0');
  return deleted;
}
