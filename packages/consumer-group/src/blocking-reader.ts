import { ClosedError, type Commander, settlesUnlessAborted, settlesWithin, TimeoutError } from '@tributary/core';

/** Extra time the client waits for a blocking read beyond BLOCK itself, so a slow reply is not cut off. */
export const BLOCK_TIMEOUT_MARGIN_MS = 10_000;

/** How long a new reader connection may take to be ready when one is replaced (see BlockingReader.reopen). */
const REOPEN_TIMEOUT_MS = 10_000;

/** How long a polite close of a reader may take before the connection is dropped. */
const CLOSE_GRACE_MS = 500;

/**
 * A dedicated connection for blocking reads (XREADGROUP / XREAD with BLOCK), so the shared
 * connection is never held up, and the means to end a BLOCK at once on stop.
 */
export interface BlockingReader {
  /** The reader's own connection: a new one after each {@link BlockingReader.reopen}. */
  readonly commander: Commander;
  /**
   * Ends a blocking read on the server. Standalone: CLIENT UNBLOCK of the reader's client ID,
   * sent through the main connection (aborting the command only releases the client side).
   * Cluster (no single client ID), or no answer to the UNBLOCK within a grace period: drops the
   * reader connection; anything the server delivered into it stays in the group's pending
   * list, and XREAD leaves no server state at all.
   */
  interrupt(): Promise<void>;
  /**
   * Replaces a connection that stopped answering: drops it (rejecting what waits on it) and
   * opens a new one. A read left unanswered past its deadline is the sign: without this, a
   * half-open TCP connection (peer gone without a reset, e.g. a failover behind a virtual IP
   * or a NAT that forgot the flow) stays silent until the kernel gives up retransmitting,
   * about 15 minutes on Linux, and every read on it fails at its deadline meanwhile.
   * @throws TimeoutError if the new connection is not ready within `timeoutMs`; the reader
   *   then has no live connection (sends reject) until a later reopen succeeds
   * @throws ClosedError if the reader was closed meanwhile (the new connection is dropped)
   */
  reopen(timeoutMs: number): Promise<void>;
  /** Closes the reader; drops it if a close does not finish quickly (a BLOCK still running). */
  close(): Promise<void>;
}

/** Opens a {@link BlockingReader} beside `main` (`duplicate()` + `connect()`). */
export async function openBlockingReader(main: Commander): Promise<BlockingReader> {
  const open = async (timeoutMs?: number): Promise<{ commander: Commander; clientId: string | undefined }> => {
    const deadline = Date.now() + (timeoutMs ?? 0);
    const commander = await main.duplicate(timeoutMs === undefined ? undefined : { timeoutMs });
    if (commander.isCluster) return { commander, clientId: undefined };
    const id = commander.send(undefined, ['CLIENT', 'ID']);
    try {
      // CLIENT ID is one more round trip on the new connection: within the same deadline.
      if (timeoutMs !== undefined && !(await settlesWithin(id, Math.max(0, deadline - Date.now())))) {
        throw new TimeoutError(`reader connection not ready within ${timeoutMs} ms`, { data: { timeoutMs } });
      }
      return { commander, clientId: String(await id) };
    } catch (error) {
      id.catch(() => undefined);
      commander.destroy();
      throw error;
    }
  };
  let current = await open();
  let closed = false;
  return {
    get commander() {
      return current.commander;
    },
    async interrupt() {
      const { commander, clientId } = current;
      // A server that does not answer (frozen, or unreachable with commands queued offline)
      // cannot unblock anything: drop the reader instead, as on a cluster.
      const unblocked = clientId !== undefined && (await settlesWithin(main.send(undefined, ['CLIENT', 'UNBLOCK', clientId]), CLOSE_GRACE_MS));
      if (!unblocked) commander.destroy();
    },
    async reopen(timeoutMs) {
      current.commander.destroy();
      const next = await open(timeoutMs);
      // Closed while it opened (stop): nobody would close this one.
      if (closed) {
        next.commander.destroy();
        throw new ClosedError('reader closed while its connection was replaced');
      }
      current = next;
    },
    async close() {
      closed = true;
      const { commander: reader } = current;
      if (!reader.client.isOpen) return;
      // If the UNBLOCK raced ahead of the read, a polite close would wait out the BLOCK.
      const polite = reader.close().then(() => true, () => false);
      if (!(await settlesWithin(polite, CLOSE_GRACE_MS)) || !(await polite)) reader.destroy();
    },
  };
}

/**
 * Replaces `reader`'s connection (see {@link BlockingReader.reopen}) within
 * {@link REOPEN_TIMEOUT_MS}, unless `stopping` aborts first: stop() must not wait for a server
 * that does not answer, and close() drops a connection that opens after it.
 * @returns true once replaced; false if that failed (`onError` is told why) or `stopping` aborted
 */
export async function replaceConnection(reader: BlockingReader, stopping: AbortSignal, onError: (error: unknown) => void): Promise<boolean> {
  const reopened = reader.reopen(REOPEN_TIMEOUT_MS);
  reopened.catch(() => undefined); // left behind on stop: close() makes it reject
  if (!(await settlesUnlessAborted(reopened, stopping))) return false;
  try {
    await reopened;
    return true;
  } catch (error) {
    if (!stopping.aborted) onError(error);
    return false;
  }
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
