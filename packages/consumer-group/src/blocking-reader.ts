import { type Commander, TimeoutError } from '@tributary/core';

/** Extra time the client waits for a blocking read beyond BLOCK itself, so a slow reply is not cut off. */
export const BLOCK_TIMEOUT_MARGIN_MS = 10_000;

/** How long a polite close of a reader may take before the connection is dropped. */
const CLOSE_GRACE_MS = 500;

/**
 * A dedicated connection for blocking reads (XREADGROUP / XREAD with BLOCK), so the shared
 * connection is never held up, and the means to end a BLOCK at once on stop.
 */
export interface BlockingReader {
  /** The reader's own connection. */
  readonly commander: Commander;
  /**
   * Ends a blocking read on the server. Standalone: CLIENT UNBLOCK of the reader's client ID,
   * sent through the main connection (aborting the command only releases the client side).
   * Cluster (no single client ID), or no answer to the UNBLOCK within a grace period: drops the
   * reader connection; anything the server delivered into it stays in the group's pending
   * list, and XREAD leaves no server state at all.
   */
  interrupt(): Promise<void>;
  /** Closes the reader; drops it if a close does not finish quickly (a BLOCK still running). */
  close(): Promise<void>;
}

/** Opens a {@link BlockingReader} beside `main` (`duplicate()` + `connect()`). */
export async function openBlockingReader(main: Commander): Promise<BlockingReader> {
  const commander = await main.duplicate();
  const clientId = commander.isCluster ? undefined : String(await commander.send(undefined, ['CLIENT', 'ID']));
  return {
    commander,
    async interrupt() {
      // A server that does not answer (frozen, or unreachable with commands queued offline)
      // cannot unblock anything: drop the reader instead, as on a cluster.
      const unblocked = clientId !== undefined && (await settlesWithin(main.send(undefined, ['CLIENT', 'UNBLOCK', clientId]), CLOSE_GRACE_MS));
      if (!unblocked) commander.destroy();
    },
    async close() {
      if (!commander.client.isOpen) return;
      // If the UNBLOCK raced ahead of the read, a polite close would wait out the BLOCK.
      const closed = commander.close().then(() => true, () => false);
      if (!(await settlesWithin(closed, CLOSE_GRACE_MS)) || !(await closed)) commander.destroy();
    },
  };
}

/** Resolves true once `promise` settles (either way), false if `ms` pass first. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => { clearTimeout(timer); resolve(true); },
      () => { clearTimeout(timer); resolve(true); },
    );
  });
}

/** The error of a read the server left unanswered for `timeoutMs` (the connection looks silent). */
export function noReplyError(command: string, timeoutMs: number): TimeoutError {
  return new TimeoutError(`no reply to ${command} within ${timeoutMs} ms`, { data: { timeoutMs } });
}

/**
 * `sent`, rejected with {@link noReplyError} if it is not answered within `timeoutMs`. For a
 * blocking read: node-redis 6's own per-command timeout stops once the command is written, so
 * it cannot tell a long BLOCK from a server that stopped answering.
 */
export function replyWithin<T>(sent: Promise<T>, timeoutMs: number, command: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(noReplyError(command, timeoutMs)), timeoutMs);
    sent.then(
      (reply) => { clearTimeout(timer); resolve(reply); },
      (error: unknown) => { clearTimeout(timer); reject(error); },
    );
  });
}
