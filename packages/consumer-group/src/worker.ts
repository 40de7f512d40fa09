import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import {
  asCommander,
  ClosedError,
  type Commander,
  DecodeError,
  DecodeFailure,
  decodeMessage,
  decodeMessageBytes,
  InvalidArgumentError,
  isErrorReply,
  isNoGroupReply,
  type MessageOf,
  parseOptions,
  type EntryTuple,
  type RedisClientLike,
  reconnectDelay,
  singleStreamEntries,
  TimeoutError,
  type Topic,
  type TopicTypes,
  toTributaryError,
  validateName,
} from '@tributary/core';
import { AckBatcher } from './ack-batcher.js';
import { BLOCK_TIMEOUT_MARGIN_MS, type BlockingReader, openBlockingReader, replaceConnection } from './blocking-reader.js';
import { Delivery, type DeliveryOwner, type EntryFields, RELEASE } from './delivery.js';
import {
  type ClaimedEntry,
  type FailedDelivery,
  FailureKind,
  type FailureKindValue,
  type FailureOutcome,
  type WorkerHandle,
} from './failure-handler.js';
import { ensureGroup } from './group-admin.js';
import { InFlight } from './in-flight.js';
import { renewLeases } from './lease.js';
import { SentReads } from './sent-reads.js';
import { claimOwn, type OwnPendingScope, pendingCounts } from './own-pending.js';
import type { WorkerEvents, WorkerStats } from './worker-events.js';
import { type IterationHooks, iterateWorker, type ReceivedMessage, workerReadable } from './worker-iteration.js';
import { type DefaultHandler, defaultConsumerName, type WorkerOptions, workerOptionsSchema } from './worker-options.js';


/** How long stop() waits for reads still on their way (after interrupting a BLOCK) before giving them up. */
const STOP_READ_GRACE_MS = 500;

/** Reads sent ahead while the stream has a backlog: one answered while the other's batch is handled. */
const READS_AHEAD = 2;

/** Entries started between two yields of the read loop (see readLoop). */
const START_CHUNK = 64;

/** Options of every read: bytes, and no per-command timer (the watchdog of SentReads instead). */
const READ_OPTIONS = { bytes: true } as const;

type Internal = (message: MessageOf<TopicTypes>, delivery: Delivery) => unknown;

/** The worker's own events, without the plug-in index signature (which would type every payload `unknown`). */
type KnownWorkerEvents = { [E in keyof WorkerEvents as string extends E ? never : number extends E ? never : E]: WorkerEvents[E] };
type KnownListener<E extends keyof KnownWorkerEvents> = (...args: KnownWorkerEvents[E]) => void;

/**
 * Listener typing: the worker's own events get their payload types (`worker.on('failure', (f) =>
 * f.kind)`); any other name is a plug-in event with `unknown` payloads.
 */
// Merged into the class below: every member is EventEmitter's own method, only its type is
// narrowed, so nothing is left uninitialised (what the lint rule guards against). T is unused
// here but merging requires the class's exact type parameters.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export interface Worker<T extends TopicTypes = TopicTypes> {
  on<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  on(event: string, listener: (...args: unknown[]) => void): this;
  once<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  once(event: string, listener: (...args: unknown[]) => void): this;
  off<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  off(event: string, listener: (...args: unknown[]) => void): this;
  addListener<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  addListener(event: string, listener: (...args: unknown[]) => void): this;
  removeListener<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  removeListener(event: string, listener: (...args: unknown[]) => void): this;
  prependListener<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  prependListener(event: string, listener: (...args: unknown[]) => void): this;
  prependOnceListener<E extends keyof KnownWorkerEvents>(event: E, listener: KnownListener<E>): this;
  prependOnceListener(event: string, listener: (...args: unknown[]) => void): this;
}

/**
 * A member of a consumer group: reads with XREADGROUP on its own connection, routes each
 * message to the handler of its type, acks after the handler resolves, and leaves failed
 * messages pending (or hands them to a failure handler such as `@tributary/recovery`).
 *
 * Create with {@link createWorker}; call {@link Worker.start}, or iterate it with `for await`.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Worker<T extends TopicTypes = TopicTypes> extends EventEmitter<WorkerEvents> implements DeliveryOwner {
  /** The topic consumed. */
  readonly topic: Topic<T>;
  /** The consumer group. */
  readonly group: string;
  /** This member's name. */
  readonly consumer: string;

  private readonly commander: Commander;
  private readonly options: ReturnType<typeof workerOptionsSchema.parse>;
  /** Handler per type, copied from the options once (see handlerOf). */
  private readonly routes: Map<string, Internal>;
  private defaultHandler: DefaultHandler<T> | Internal | undefined;
  private readonly key: string;
  private readonly acks: AckBatcher;
  private reader: BlockingReader | undefined;
  private readonly readAbort = new AbortController();
  private loop: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private detach: (() => Promise<void>) | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  /** Every delivery being handled. */
  private readonly inFlight = new InFlight();
  /** Failure-handler calls still running (stop waits for them). */
  private readonly failing = new Set<Promise<unknown>>();
  private slotWaiter: (() => void) | undefined;
  private idleWaiter: (() => void) | undefined;
  private counters = { succeeded: 0, failed: 0, deadLettered: 0, acked: 0 };
  private readonly batchSize: number;
  /** Slots held for reads sent and not yet answered (and for a batch about to start). */
  private reserved = 0;
  /** XREADGROUPs sent on the reader, oldest first. */
  private readonly reads = new SentReads(BLOCK_TIMEOUT_MARGIN_MS);
  private readonly ownPending: OwnPendingScope;
  /** The last type routed and its handler (see handlerOf). */
  private lastType: string | undefined;
  private lastHandler: Internal | undefined;

  /** @internal use {@link createWorker} */
  constructor(connection: RedisClientLike | Commander, options: WorkerOptions<T>) {
    super();
    this.options = parseOptions(workerOptionsSchema, options, 'WorkerOptions');
    this.topic = options.topic;
    this.group = validateName('WorkerOptions.group', options.group);
    this.consumer = validateName('WorkerOptions.consumer', options.consumer ?? defaultConsumerName());
    this.commander = asCommander(connection);
    this.routes = new Map(Object.entries(options.handlers ?? {}) as [string, Internal][]);
    this.defaultHandler = options.defaultHandler;
    this.key = this.topic.keys.stream;
    this.batchSize = this.options.batchSize ?? this.options.concurrency;
    this.ownPending = { commander: this.commander, key: this.key, group: this.group, consumer: this.consumer };
    this.acks = new AckBatcher(this.commander, this.key, this.group, this.options.maxAckBatch, (error, ids, dropped) =>
      this.emit('worker-error', { stage: 'ack', error, streamIds: ids, dropped }),
    );
    // An already aborted signal never fires 'abort': stop now, so start() rejects as if aborted later.
    if (options.signal?.aborted) void this.stop();
    else options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Counters since start. */
  stats(): WorkerStats {
    return { ...this.counters, inFlight: this.inFlight.size };
  }

  /** True between start() and the end of stop(). */
  get running(): boolean {
    return this.loop !== undefined && this.stopping === undefined;
  }

  /**
   * Connects the dedicated reader, creates the group if asked (idempotent), and starts
   * reading: first this consumer's own pending messages (from a previous run under the same
   * name), then new ones. Resolves once reading has started.
   * @throws InvalidArgumentError when neither handlers nor a default handler are set
   */
  start(): Promise<void> {
    if (!this.defaultHandler && this.routes.size === 0) {
      return Promise.reject(new InvalidArgumentError('WorkerOptions.handlers', 'set handlers or defaultHandler, or iterate the worker with for await'));
    }
    return this.begin();
  }

  /** Starts with whatever handlers are installed (also used by iteration). */
  private begin(): Promise<void> {
    if (this.stopping) return Promise.reject(new ClosedError(`worker ${this.consumer} is stopped; create a new one`));
    this.starting ??= (async () => {
      if (this.options.createGroup) await ensureGroup(this.commander, this.topic, this.group, this.options.startId);
      this.reader = await openBlockingReader(this.commander);
      const detach = this.options.failureHandler?.attach?.(this.handle());
      if (detach) this.detach = detach;
      if (this.options.leaseRenewMs) this.startLeaseRenewal(this.options.leaseRenewMs);
      this.reads.watch();
      this.loop = this.readLoop();
      this.emit('started', { group: this.group, consumer: this.consumer });
    })();
    return this.starting;
  }

  /**
   * Stops gracefully: stops fetching (interrupting the BLOCK), lets running handlers finish
   * (up to `timeoutMs`, default `stopTimeoutMs`), flushes acks, stops plug-ins and closes the
   * reader. Messages fetched but not finished stay pending for this consumer or its peers.
   * Never deletes the consumer. Idempotent.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.timeoutMs ?? this.options.stopTimeoutMs);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.readAbort.abort();
    this.slotWaiter?.();
    await this.starting?.catch(() => undefined);
    await this.reader?.interrupt();
    // With the BLOCK interrupted, reads answer within a round trip; one still waiting after a
    // short grace (reader reconnecting during an outage, or a BLOCK that reached the server
    // after the UNBLOCK) is given up: its entries stay pending for a peer.
    const giveUp = setTimeout(() => this.reads.failAll(new ClosedError(`worker ${this.consumer} stopped before a read was answered`)), STOP_READ_GRACE_MS);
    await this.loop;
    clearTimeout(giveUp);
    this.reads.unwatch();
    clearInterval(this.leaseTimer);
    if (!(await this.waitIdle(deadline))) {
      const running = this.inFlight.values();
      const ids = running.map((delivery) => delivery.streamId);
      for (const delivery of running) delivery.abort('stop timeout');
      this.emit('stop-timeout', { streamIds: ids });
    }
    await this.detach?.().catch((error: unknown) => this.emit('worker-error', { stage: 'failure-handler', error }));
    const unacked = await this.acks.drain(Math.max(deadline, Date.now() + 5000));
    if (unacked.length > 0) this.emit('worker-error', { stage: 'ack', error: new Error('acks not flushed before stop'), streamIds: unacked, dropped: false });
    await this.reader?.close();
    this.emit('stopped', this.stats());
  }

  private async waitIdle(deadline: number): Promise<boolean> {
    while (this.inFlight.size > 0 || this.failing.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      await Promise.all(this.failing);
    }
    return true;
  }

  /** Slots neither running a handler nor reserved by a read still on its way. */
  private freeSlots(): number {
    return this.options.concurrency - this.inFlight.size - this.reserved;
  }

  /**
   * Free slots worth a read: a quarter of a batch (at least 1), or any when nothing runs.
   * Reading as soon as one slot frees would turn a busy worker's batches into COUNT 1 reads.
   */
  private readThreshold(): number {
    return this.inFlight.size + this.reserved === 0 ? 1 : Math.max(1, Math.ceil(Math.min(this.batchSize, this.options.concurrency) / 4));
  }

  private waitForSlot(): Promise<void> {
    if (this.freeSlots() >= this.readThreshold() || this.readAbort.signal.aborted) return Promise.resolve();
    // This wait lasts as long as the handlers: acks held for the next read get a deadline.
    this.acks.readerWaiting(true);
    return new Promise((resolve) => {
      this.slotWaiter = () => {
        this.acks.readerWaiting(false);
        resolve();
      };
    });
  }

  private async readLoop(): Promise<void> {
    // '0' first: this consumer's own pending list (a restart under the same name resumes its
    // unfinished work), then '>' for new messages. After a read error the pending list is
    // checked again (resync): replies lost with a dropped connection leave entries delivered to
    // us but unseen.
    let cursor: string | null = '0';
    /** Where the next resync lists this consumer's pending entries from; undefined: no resync due. */
    let resync: string | undefined;
    /**
     * A read failed on a connection that may still be alive (the watchdog gave up on a silent
     * server): its reply can still come and deliver entries to us that nobody handles. Replies
     * come in order, so once a later read is answered, a resync finds them in the pending list.
     * A replaced reader (below) keeps that order in practice: commands the server holds from
     * the old connection run before the new one's handshake is answered. Not if the network
     * still holds them (a partition healing later): those entries wait for a reclaim
     * (recovery's claimIdleMs) or this consumer's next start.
     */
    let resyncOnReply = false;
    /** The watchdog gave up on a read: the reader connection is replaced before the next read. */
    let silent = false;
    let failures = 0;
    /** A read failed: send nothing more until the reads already sent are answered, then back off. */
    let failed = false;
    /** The last '>' read came back full: the stream has a backlog, so reads go out ahead (see sendReads). */
    let backlog = false;
    /** Bumped when the group is recreated: NOGROUP replies to reads sent before are old news. */
    let epoch = 0;
    const reads = this.reads;
    const signal = this.readAbort.signal;
    for (;;) {
      if (reads.length === 0) {
        if (signal.aborted) break;
        if (failed) {
          failed = false;
          await this.pause(reconnectDelay(failures++, 2000));
          continue;
        }
        await this.waitForSlot();
        if (signal.aborted) break;
        if (silent) {
          silent = !(await replaceConnection(this.reader!, signal, (error) =>
            this.emit('worker-error', { stage: 'read', error: toTributaryError(error, `reader connection of ${this.consumer}`) })));
          if (silent) failed = true; // back off, then try again
          continue;
        }
        if (resync !== undefined) {
          const outcome = await this.resyncOwnPending(resync);
          resync = outcome.next;
          if (outcome.unreachable) await this.pause(reconnectDelay(failures++, 2000));
          continue;
        }
        await this.sendReads(cursor, backlog, epoch);
        if (reads.length === 0) continue;
      }
      const read = reads.oldest()!;
      let entries: readonly EntryTuple<Buffer>[];
      try {
        entries = singleStreamEntries<Buffer>(await read.reply);
        failures = 0;
        if (resyncOnReply) {
          resyncOnReply = false;
          resync = '-';
        }
      } catch (error) {
        // The reads sent behind a failed one fail alike: one report, one recovery.
        if (signal.aborted || failed || read.epoch !== epoch) continue;
        if (isNoGroupReply(error)) {
          epoch++;
          if (!(await this.recoverGroup(error))) break;
          cursor = '0';
          backlog = false;
          continue;
        }
        this.emit('worker-error', { stage: 'read', error: toTributaryError(error, `XREADGROUP ${this.key}`) });
        failed = true;
        silent = error instanceof TimeoutError; // the watchdog's verdict (SentReads)
        // In the first drain ('0' reads) it simply goes on from its cursor; after it, the
        // pending list is checked again now and once a later read is answered.
        if (cursor === null) {
          resync = '-';
          resyncOnReply = true;
        }
        continue;
      } finally {
        reads.done();
        this.reserved -= read.holds;
      }
      // Until the next read, acks wait to go out on the reader ahead of it (see AckBatcher).
      this.acks.holdForReader = true;
      if (cursor !== null) {
        if (entries.length === 0) {
          cursor = null;
          continue;
        }
        cursor = entries[entries.length - 1]![0].toString();
        const counts = await this.deliveryCounts(entries);
        const running = this.inFlight.ids();
        const now = Date.now();
        for (const entry of entries) {
          if (!Array.isArray(entry)) continue; // see below
          const [bytes, fields] = entry;
          const id = bytes.toString();
          this.startEntry(id, fields, counts.get(id) ?? 1, now, running);
        }
        continue;
      }
      backlog = entries.length === read.count;
      if (backlog && !failed && !signal.aborted) {
        // Send the next read before handling this batch, so Redis serves it meanwhile. This
        // batch's entries hold their slots already, so prefetch stays within concurrency.
        this.reserved += entries.length;
        try {
          await this.sendReads(cursor, backlog, epoch);
        } finally {
          this.reserved -= entries.length;
        }
      }
      // New entries ('>') were never delivered before: none can be running already. One
      // timestamp serves the whole batch as its lease start (they all arrived in one reply).
      // Every START_CHUNK entries the loop yields, so handlers that finish at once complete
      // (microtasks) and their messages can go before the next chunk is decoded, instead of a
      // whole batch staying alive until the loop ends (four interleaved A/B runs: 1–4% less
      // CPU per message with 4 workers in one process, none worse). Entries not started yet
      // keep their slots reserved meanwhile, so a plug-in dispatching reclaimed messages
      // during a yield sees no free slots that this batch will fill.
      const now = Date.now();
      this.reserved += entries.length;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        this.reserved--;
        // Redis sends no nil items in XREADGROUP replies; a reply that did must not stop the loop.
        if (Array.isArray(entry)) this.startEntry(entry[0].toString(), entry[1], 1, now);
        if (i % START_CHUNK === START_CHUNK - 1 && i + 1 < entries.length) await null;
      }
    }
    this.acks.holdForReader = false;
  }

  /**
   * Sends XREADGROUPs on the reader while free slots allow. While the stream is idle: one read
   * at a time, with BLOCK. While it has a backlog: up to {@link READS_AHEAD} reads without
   * BLOCK, each holding the slots it may fill, so prefetch stays within concurrency. A read
   * ahead goes out only if a quarter batch is free besides the batch just received: batches are
   * never cut smaller to make room, because each read has a fixed cost (measured on loopback:
   * halving the batch to read ahead cost about 1 µs of CPU per message and gained nothing).
   * With `concurrency` ≥ 2 × `batchSize`, Redis answers the next read while a batch is handled.
   * Acks queued so far go first, in the same write.
   */
  private async sendReads(cursor: string | null, backlog: boolean, epoch: number): Promise<void> {
    const reads = this.reads;
    const signal = this.readAbort.signal;
    const ahead = cursor === null && backlog;
    const limit = ahead ? READS_AHEAD : 1;
    const reader = this.reader!.commander;
    while (reads.length < limit && !signal.aborted) {
      // XACKs on the shared connection could reach Redis after this read: wait for them, else
      // the pending list briefly holds more than `concurrency` entries.
      if (this.acks.sendingOnShared) await this.acks.settled(signal);
      const free = this.freeSlots();
      if (signal.aborted || free < this.readThreshold()) return;
      const count = Math.min(free, this.batchSize);
      const block = cursor === null && !ahead;
      this.acks.holdForReader = false;
      this.acks.flush(reader);
      const args = ['XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', String(count)];
      if (block) args.push('BLOCK', String(this.options.blockMs));
      args.push('STREAMS', this.key, cursor ?? '>');
      // Replies come as bytes: decodeMessageBytes makes strings only of what a message needs.
      // No per-command timer: SentReads watches every read (a BLOCK one for blockMs + a
      // margin), and stop() ends a BLOCK with CLIENT UNBLOCK (see shutdown). No UNBLOCK reaches
      // a read still queued in the client while the reader reconnects: such a BLOCK read takes
      // the stop signal, which aborts it there. Only then: a listener added and removed on
      // every read, with the ack timer of every read (AckBatcher.readerWaiting), cost 5–14 µs
      // of CPU per message at 5k msgs/s (reads of ~4 messages; two 8-round A/B runs).
      const options = block && reader.client.isReady === false ? { bytes: true, signal } : READ_OPTIONS;
      const sent = reader.send(this.key, args, options);
      // A read ahead holds its slots until answered. A blocking read does not: it may wait for
      // blockMs, and reclaimed messages (recovery) must be able to start meanwhile.
      const holds = block ? 0 : count;
      this.reserved += holds;
      reads.add(sent, { count, holds, epoch }, block ? this.options.blockMs + BLOCK_TIMEOUT_MARGIN_MS : undefined);
      // While a BLOCK may last, acks go out on the shared connection; otherwise they wait for the next read.
      this.acks.holdForReader = !block;
    }
  }

  private async pause(ms: number): Promise<void> {
    this.acks.readerWaiting(true); // acks held for the next read must not wait out the pause
    await new Promise<void>((resolve) => {
      const signal = this.readAbort.signal;
      const onAbort = () => { clearTimeout(timer); resolve(); };
      // The listener goes when the pause ends: a long outage must not pile them up on the signal.
      const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    this.acks.readerWaiting(false);
  }

  /**
   * Picks up entries of our own pending list that are not being handled, after a read error.
   * Not XREADGROUP from `0`: that counts a delivery for every entry it returns, including
   * those still in flight, so every dropped connection would cost them an attempt. XPENDING
   * counts nothing, and XCLAIM then counts one delivery for just the entries we start.
   * One pass takes as many entries as there are free slots, listing from `from`; `next` says
   * where the following pass starts when more may remain, so every pending entry is looked at
   * once (an entry left pending on purpose, e.g. a failure without a failure handler, is not
   * claimed over and over).
   * @returns `next`: where to go on (undefined: done); `unreachable`: Redis could not be reached
   *   (try again later, from the same place)
   */
  private async resyncOwnPending(from: string): Promise<{ next?: string; unreachable?: boolean }> {
    const free = this.freeSlots();
    if (free <= 0) return { next: from };
    try {
      // Acks of finished handlers go first on the same connection, so Redis drops them from the
      // list before XPENDING reads it; handlers running now are left out, whether or not they
      // finish before the reply. Otherwise a finished message could be claimed and run again.
      this.acks.flush();
      const running = this.inFlight.ids();
      const limit = Math.min(running.size + free, 10_000);
      const listed = [...(await pendingCounts(this.ownPending, from, '+', limit))];
      const idle = listed.filter(([id]) => !running.has(id) && !this.inFlight.has(id));
      const claim = idle.slice(0, free);
      const last = claim.length < idle.length ? claim[claim.length - 1] : listed.length >= limit ? listed[listed.length - 1] : undefined;
      const next = last === undefined ? undefined : `(${last[0]}`;
      if (claim.length === 0) return { next };
      const counts = new Map(claim);
      const { entries, gone } = await claimOwn(this.ownPending, [...counts.keys()]);
      const now = Date.now();
      // Started meanwhile (a plug-in's reclaim) means running: not started twice.
      const runningNow = this.inFlight.ids();
      for (const entry of entries) this.startEntry(entry.id, entry.fields, (counts.get(entry.id) ?? 0) + 1, now, runningNow);
      // Entries deleted from the stream while pending have no data left to handle. Say so.
      if (gone.length > 0) this.emit('lost', { group: this.group, consumer: this.consumer, streamIds: gone, reason: 'trimmed' });
      return { next };
    } catch (error) {
      if (this.readAbort.signal.aborted) return {};
      this.emit('worker-error', { stage: 'read', error: toTributaryError(error, `XPENDING/XCLAIM ${this.key}`) });
      // Redis answered (e.g. NOGROUP after the stream was deleted): the next read deals with
      // it (NOGROUP policy). Only an unreachable server means trying the resync again.
      return isErrorReply(error) ? {} : { next: from, unreachable: true };
    }
  }

  /** NOGROUP policy. Returns false when the worker must stop. */
  private async recoverGroup(error: unknown): Promise<boolean> {
    const typed = toTributaryError(error, `XREADGROUP ${this.key}`);
    if (this.options.onNoGroup === 'fail') {
      this.emit('worker-error', { stage: 'read', error: typed });
      void this.stop();
      return false;
    }
    try {
      await ensureGroup(this.commander, this.topic, this.group, this.options.recreateStartId);
      this.emit('group-recreated', { group: this.group, startId: this.options.recreateStartId, error: typed });
    } catch (recreateError) {
      this.emit('worker-error', { stage: 'read', error: toTributaryError(recreateError, `XGROUP CREATE ${this.key}`) });
      await this.pause(1000);
    }
    return true;
  }

  /** Delivery counters of entries re-read from our own pending list (one XPENDING range call). */
  private async deliveryCounts(entries: readonly EntryTuple<Buffer>[]): Promise<Map<string, number>> {
    try {
      return await pendingCounts(this.ownPending, entries[0]![0].toString(), entries[entries.length - 1]![0].toString(), entries.length);
    } catch (error) {
      this.emit('worker-error', { stage: 'read', error: toTributaryError(error, `XPENDING ${this.key}`) });
      return new Map();
    }
  }

  /**
   * Decodes, routes and runs one entry. Never throws. `fields`: as bytes from the worker's
   * own reads, as text from claims. `now`: when the batch arrived (the lease's start).
   * `running`: IDs being handled when the batch arrived, for entries that may be (re-read own
   * pending entries, reclaimed ones).
   */
  private startEntry(id: string, fields: EntryFields, deliveries: number, now: number, running?: ReadonlySet<string>): void {
    if (running?.has(id)) return; // already being handled (re-read or re-claimed)
    const delivery = new Delivery(this, id, fields, deliveries, now);
    let message: MessageOf<T>;
    try {
      message = fields !== null && typeof fields[0] === 'object'
        ? decodeMessageBytes(this.topic, id, fields as readonly Buffer[], delivery)
        : decodeMessage(this.topic, id, fields as readonly string[] | null);
    } catch (error) {
      // A type the topic does not declare is one nobody handles: same kind as a declared type
      // without a handler, so one policy covers both (e.g. during a rolling deploy).
      const kind = !(error instanceof DecodeError)
        ? FailureKind.Validation
        : error.reason === DecodeFailure.Deleted
          ? FailureKind.Deleted
          : error.reason === DecodeFailure.UnknownType ? FailureKind.UnhandledType : FailureKind.Decode;
      this.fail(delivery, undefined, kind, error);
      return;
    }
    delivery.decoded(message);
    const handler = this.handlerOf(message.type);
    if (!handler) {
      this.fail(delivery, message, FailureKind.UnhandledType, new DecodeError(DecodeFailure.UnknownType, `no handler for type "${message.type}"`, { data: { streamId: id, type: message.type } }));
      return;
    }
    this.inFlight.add(delivery);
    let result: unknown;
    try {
      result = handler(message, delivery);
    } catch (error) {
      this.finish(delivery, error, true);
      return;
    }
    if (result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as Promise<unknown>).then === 'function')) {
      let promise = result as Promise<unknown>;
      if (this.options.handlerTimeoutMs) promise = delivery.withTimeout(promise, this.options.handlerTimeoutMs);
      promise.then((value) => this.finish(delivery, value, false), (error: unknown) => this.finish(delivery, error, true));
    } else {
      this.finish(delivery, result, false);
    }
  }

  /**
   * The handler for `type` (or the default one). Type names read from Redis are fresh strings,
   * which a keyed lookup hashes every time: a run of one type compares with the last name.
   * A Map, not the options object: a type named like an Object member (`toString`) must not
   * find the prototype's function.
   */
  private handlerOf(type: string): Internal | undefined {
    if (type === this.lastType) return this.lastHandler;
    this.lastType = type;
    this.lastHandler = this.routes.get(type) ?? (this.defaultHandler as Internal | undefined);
    return this.lastHandler;
  }

  /** A handler settled: ack, or hand the failure on. */
  private finish(delivery: Delivery, value: unknown, failed: boolean): void {
    this.inFlight.remove(delivery);
    if (failed) {
      this.fail(delivery, delivery.message, delivery.timedOut ? FailureKind.Timeout : FailureKind.HandlerError, value);
    } else if (delivery.requested) {
      const { kind, delayMs, reason } = delivery.requested;
      this.fail(delivery, delivery.message, kind, undefined, delayMs, reason);
    } else if (value !== RELEASE) {
      this.counters.succeeded++;
      if (this.options.ackMode === 'auto') delivery.ack();
    }
    this.released();
  }

  private released(): void {
    const waiter = this.slotWaiter;
    if (waiter && (this.freeSlots() >= this.readThreshold() || this.readAbort.signal.aborted)) {
      this.slotWaiter = undefined;
      // With handlers still running, wake the reader after the completions already queued as
      // microtasks, so one read covers all of them. Not setImmediate: node-redis writes on
      // setImmediate, and one scheduled from an immediate waits a whole event-loop turn, in
      // which other workers' replies are handled first while Redis sits idle (measured with
      // 4 workers in one process). With none left running there is nothing to wait for.
      if (this.inFlight.size === 0) waiter();
      else queueMicrotask(waiter);
    }
    if (this.inFlight.size === 0 && this.failing.size === 0) this.idleWaiter?.();
  }

  /** Reports a failed delivery and lets the failure handler decide; never throws. */
  private fail(delivery: Delivery, message: MessageOf<T> | undefined, kind: FailureKindValue, error: unknown, delayMs?: number, reason?: string): void {
    this.counters.failed++;
    const failed: FailedDelivery = {
      topic: this.topic,
      group: this.group,
      consumer: this.consumer,
      streamId: delivery.streamId,
      fields: delivery.fields,
      message,
      deliveries: delivery.deliveries,
      kind,
      error,
      ...(delayMs !== undefined ? { delayMs } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
    const handler = this.options.failureHandler;
    if (!handler) {
      this.emit('failure', { ...failed, outcome: 'pending' });
      return;
    }
    const decided: Promise<unknown> = handler.onFailure(failed).then(
      (outcome: FailureOutcome) => {
        if (outcome === 'dead-lettered') this.counters.deadLettered++;
        this.emit('failure', { ...failed, outcome });
      },
      (handlerError: unknown) => {
        this.emit('worker-error', { stage: 'failure-handler', error: handlerError, streamIds: [delivery.streamId] });
        this.emit('failure', { ...failed, outcome: 'pending' });
      },
    );
    this.failing.add(decided);
    void decided.finally(() => {
      this.failing.delete(decided);
      this.released();
    });
  }

  /** @internal acks one ID (batched). */
  ack(streamId: string): void {
    this.counters.acked++;
    this.acks.add(streamId);
  }

  /** @internal renews the lease of one message. */
  async extendLease(streamId: string): Promise<boolean> {
    const renewed = await renewLeases(this.commander, this.topic, this.group, this.consumer, [streamId]);
    return renewed.length === 1;
  }

  private startLeaseRenewal(everyMs: number): void {
    this.leaseTimer = setInterval(() => {
      const now = Date.now();
      const due = this.inFlight.values().filter((d) => !d.leaseLost && now - d.leasedAt >= everyMs / 2);
      if (due.length === 0) return;
      for (const d of due) d.leasedAt = now;
      renewLeases(this.commander, this.topic, this.group, this.consumer, due.map((d) => d.streamId)).then(
        (renewed) => {
          const kept = new Set(renewed);
          for (const d of due) {
            // Settled meanwhile (acked): not a loss. Lost once is enough: it never comes back.
            if (kept.has(d.streamId) || d.leaseLost || !this.inFlight.holds(d)) continue;
            d.leaseLost = true;
            // A peer owns it now and will handle it: tell the handler to stop (ctx.signal).
            d.abort('lease lost to another consumer');
            this.emit('lease-lost', { streamId: d.streamId, consumer: this.consumer });
          }
        },
        (error: unknown) => this.emit('worker-error', { stage: 'lease', error }),
      );
    }, everyMs);
    this.leaseTimer.unref();
  }

  /**
   * Consumes with `for await (const msg of worker)` instead of handlers. Each message is
   * acked when the loop asks for the next one (its body finished without throwing) unless
   * settled earlier with `msg.ack()`, `msg.fail()` or `msg.release()`. Leaving the loop (break,
   * throw) releases the current message (it stays pending) and stops the worker.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedMessage<T>> {
    return iterateWorker<T>(this.iterationHooks());
  }

  /**
   * An object-mode Readable of messages that must each be settled (`ack()`, `fail()`,
   * `release()`). At most `concurrency` are unsettled at once: that is the backpressure.
   * Destroying the stream before it ends stops the worker.
   */
  readable(options: { highWaterMark?: number } = {}): Readable {
    return workerReadable<T>(this.iterationHooks(), options.highWaterMark ?? 16);
  }

  private iterationHooks(): IterationHooks {
    return {
      install: (handler) => this.useInternalHandler(handler as Internal),
      begin: () => this.begin(),
      stop: () => this.stop(),
      stopping: this.readAbort.signal,
    };
  }

  private useInternalHandler(handler: Internal): void {
    if (this.defaultHandler || this.routes.size > 0) {
      throw new InvalidArgumentError('WorkerOptions.handlers', 'a worker with handlers cannot also be iterated');
    }
    this.defaultHandler = handler;
    this.lastType = undefined;
  }

  private handle(): WorkerHandle {
    return {
      commander: this.commander,
      topic: this.topic,
      group: this.group,
      consumer: this.consumer,
      freeSlots: () => this.freeSlots(),
      isInFlight: (id) => this.inFlight.has(id),
      isStopping: () => this.stopping !== undefined,
      dispatch: async (entries: readonly ClaimedEntry[]) => {
        const running = this.inFlight.ids();
        const now = Date.now();
        for (const entry of entries) {
          if (this.stopping || this.freeSlots() <= 0) break; // the rest stay pending, owned by us
          this.startEntry(entry.id, entry.fields, entry.deliveries, now, running);
        }
      },
      emit: (event, payload) => {
        (this.emit as (e: string, p: unknown) => boolean)(event, payload);
      },
    };
  }
}

/**
 * Creates a consumer-group worker. Nothing connects until `start()` (or iteration).
 *
 * @example
 * const worker = createWorker(client, {
 *   topic: orders, group: 'billing', consumer: 'billing-1', concurrency: 20,
 *   handlers: { 'order.created': async (msg) => charge(msg.data.orderId, msg.data.amount) },
 * });
 * await worker.start();
 * process.on('SIGTERM', () => void worker.stop());
 * @throws InvalidArgumentError naming the bad option
 */
export function createWorker<T extends TopicTypes>(connection: RedisClientLike | Commander, options: WorkerOptions<T>): Worker<T> {
  return new Worker(connection, options);
}
