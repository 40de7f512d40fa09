import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir, trackProcess, untrackDir, untrackProcess } from './cleanup-registry.js';
import { fileSize, fileTail } from './file-tail.js';
import { getFreePort } from './free-port.js';
import { startParentDeathWatchdog } from './parent-death-watchdog.js';
import { assertTerminatingSignal, sendKillSignal, sendSignal } from './process-signals.js';
import { RespErrorReply, sendRawCommands } from './raw-resp-client.js';
import { sleep } from './sleep.js';

const LOOPBACK = '127.0.0.1';
/** Temp dir prefix; the watchdog refuses to delete anything without it. */
const TEMP_DIR_PREFIX = 'tributary-redis-';
const REDIS_LOG = 'redis.log';
/** redis-server's own stdout/stderr: config errors are printed there before the log file is open. */
const STDIO_LOG = 'stdio.log';
const START_TIMEOUT_MS = 15_000;
/** A fresh start may draw a port another process grabs first; draw again this many times. */
const START_ATTEMPTS = 5;
/** A restart must keep its port, so it can only wait for a squatter to leave, briefly. */
const RESTART_ATTEMPTS = 10;
const RESTART_RETRY_DELAY_MS = 200;
const READY_POLL_MS = 25;

/** A redis-server process owned by the test, on its own port and temp dir. */
export interface RedisServer {
  /** Always `127.0.0.1`: servers only listen on loopback. */
  readonly host: string;
  /** TCP port; stays the same across {@link RedisServer.restart}. */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, for `createClient({ url })`. */
  readonly url: string;
  /** The server's own temp dir (`tributary-redis-*` under the OS temp dir): data, AOF, log. */
  readonly dir: string;
  /** pid of the running redis-server, or undefined while it is down. */
  readonly pid: number | undefined;
  /**
   * Sends `signal` (SIGKILL by default, i.e. a crash: no AOF rewrite, no goodbye to clients) and
   * resolves once the process has exited and been reaped, so its pid no longer exists.
   * Resolves at once if the server is already down. Throws for signals that do not end a process
   * (SIGSTOP, SIGCONT, …): use {@link RedisServer.signal} for those.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Sends a signal without waiting, e.g. SIGSTOP to freeze the server (clients time out, nothing
   * is lost) and SIGCONT to resume it. No-op while the server is down.
   */
  signal(signal: NodeJS.Signals): void;
  /**
   * Starts redis-server again on the same port and dir, so an AOF (persistent) server reloads its
   * data. Resolves when it answers PING with PONG, i.e. after loading. A server that is still
   * running is SIGKILLed first. Rejects after {@link RedisServer.stop}.
   */
  restart(): Promise<void>;
  /** SIGKILLs the server and removes its dir. Idempotent; concurrent calls share one promise. */
  stop(): Promise<void>;
}

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /**
   * `appendonly yes` + `appendfsync always`: every acknowledged write is on disk, so data
   * survives kill -9 + {@link RedisServer.restart}. Default false: data is lost on restart.
   */
  persistent?: boolean;
  /** Extra redis-server arguments, appended last so they override the defaults. */
  args?: string[];
}

/** Internal (not in index.ts): how a server is launched; the same on every (re)start. */
export interface ServerSpec {
  readonly dir: string;
  readonly persistent: boolean;
  readonly cluster: boolean;
  readonly extraArgs: readonly string[];
}

/** Internal (not in index.ts): how a redis-server process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Internal (not in index.ts): one live redis-server process. */
export interface RunningServer {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
}

/** redis-server exited because it could not bind its port (or cluster bus port). */
class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/**
 * Starts a standalone redis-server on a free loopback port with its own temp dir and resolves once
 * it answers PING. It is tracked: SIGKILLed and its dir removed if the test process exits, is
 * interrupted, or dies outright (see README, "Cleanup").
 *
 * @param options - `persistent: true` for AOF with fsync on every write; `args` for extras.
 */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  return startRedisProcess({ persistent: options.persistent ?? false, cluster: false, extraArgs: options.args ?? [] });
}

/**
 * Internal: starts one server of any flavour (cluster nodes included) on a fresh port and dir,
 * drawing a new port if the drawn one was taken before redis-server could bind it.
 */
export async function startRedisProcess(flavour: Omit<ServerSpec, 'dir'>): Promise<ManagedRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), TEMP_DIR_PREFIX));
  trackDir(dir);
  const spec: ServerSpec = { ...flavour, dir };
  try {
    for (let attempt = 1; ; attempt += 1) {
      const port = await getFreePort({ clusterBus: spec.cluster });
      try {
        const running = await launch(port, spec);
        return new ManagedRedisServer(port, spec, running);
      } catch (error: unknown) {
        if (!(error instanceof PortInUseError) || attempt >= START_ATTEMPTS) throw error;
        // Start the next attempt from an empty dir: a cluster node may already have written a
        // nodes.conf naming the port it failed to bind.
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
      }
    }
  } catch (error: unknown) {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    untrackDir(dir);
    throw error;
  }
}

/** Internal implementation of {@link RedisServer}; cluster code also uses it for its nodes. */
export class ManagedRedisServer implements RedisServer {
  readonly host = LOOPBACK;
  readonly url: string;
  readonly dir: string;
  #running: RunningServer | undefined;
  #stopped: Promise<void> | undefined;

  /**
   * @param port - the port `running` listens on.
   * @param spec - launch spec, reused by restart.
   * @param running - the already started and ready process.
   */
  constructor(
    readonly port: number,
    private readonly spec: ServerSpec,
    running: RunningServer,
  ) {
    this.url = `redis://${LOOPBACK}:${port}`;
    this.dir = spec.dir;
    this.#adopt(running);
  }

  get pid(): number | undefined {
    return this.#running?.pid;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    assertTerminatingSignal(signal, `redis-server ${this.url}`);
    const running = this.#running;
    if (!running) return;
    sendKillSignal(running.pid, signal);
    await running.exited;
  }

  signal(signal: NodeJS.Signals): void {
    const running = this.#running;
    if (running) sendSignal(running.pid, signal);
  }

  async restart(): Promise<void> {
    if (this.#stopped) throw new Error(`redis-server ${this.url} was stopped; it cannot be restarted`);
    await this.kill('SIGKILL');
    for (let attempt = 1; ; attempt += 1) {
      try {
        const running = await launch(this.port, this.spec);
        if (this.#stopped) {
          // stop() ran while we were starting: do not leave this process behind.
          sendKillSignal(running.pid, 'SIGKILL');
          await running.exited;
          throw new Error(`redis-server ${this.url} was stopped during restart()`);
        }
        this.#adopt(running);
        return;
      } catch (error: unknown) {
        if (!(error instanceof PortInUseError) || attempt >= RESTART_ATTEMPTS) throw error;
        await sleep(RESTART_RETRY_DELAY_MS);
      }
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.kill('SIGKILL');
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
      untrackDir(this.dir);
    })();
    return this.#stopped;
  }

  #adopt(running: RunningServer): void {
    this.#running = running;
    // A server can also die on its own (crash, or a test signalling the pid directly).
    void running.exited.then(() => {
      if (this.#running === running) this.#running = undefined;
    });
  }
}

/** redis-server arguments; the same for the first start and every restart. */
function redisArgs(port: number, spec: ServerSpec): string[] {
  const args = [
    '--port', String(port),
    '--bind', LOOPBACK,
    '--dir', spec.dir,
    '--save', '',
    '--appendonly', spec.persistent ? 'yes' : 'no',
    ...(spec.persistent ? ['--appendfsync', 'always'] : []),
    '--logfile', join(spec.dir, REDIS_LOG),
    '--daemonize', 'no',
  ];
  if (spec.cluster) {
    args.push(
      '--cluster-enabled', 'yes',
      // Absolute, in the node's own dir, so nodes never share or clobber each other's config.
      '--cluster-config-file', join(spec.dir, 'nodes.conf'),
      // Default is 15 s; tests that kill a node want the cluster to notice (and recover) quicker.
      '--cluster-node-timeout', '5000',
    );
  }
  return [...args, ...spec.extraArgs];
}

/**
 * Spawns redis-server on `port` and resolves when it is ready. Rejects with PortInUseError if it
 * could not bind, or with an Error quoting its log otherwise; either way the process is gone.
 */
async function launch(port: number, spec: ServerSpec): Promise<RunningServer> {
  const redisLog = join(spec.dir, REDIS_LOG);
  const stdioLog = join(spec.dir, STDIO_LOG);
  const logOffsets = { redis: fileSize(redisLog), stdio: fileSize(stdioLog) };
  const stdioFd = openSync(stdioLog, 'a');
  let child: ChildProcess;
  try {
    child = spawn('redis-server', redisArgs(port, spec), { stdio: ['ignore', stdioFd, stdioFd] });
  } finally {
    // The child has its own copy of the descriptor once spawn() returns.
    closeSync(stdioFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const spawnError = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`could not spawn redis-server (is it on PATH?): ${spawnError.message}`);
  }
  // Errors after a successful spawn (failed kill) surface through 'exit'; never crash the test.
  child.on('error', () => undefined);
  trackProcess(child, `redis-server :${port}`);
  const watchdog = startParentDeathWatchdog(pid, spec.dir);
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      untrackProcess(pid);
      watchdog.dispose();
      resolve(exitInfo);
    });
  });

  const failure = (reason: string): Error => {
    const log = [fileTail(redisLog, logOffsets.redis), fileTail(stdioLog, logOffsets.stdio)]
      .filter((part) => part !== '')
      .join('\n');
    const message = `redis-server on ${LOOPBACK}:${port} (dir ${spec.dir}) ${reason}${log ? `\n--- log tail ---\n${log}` : ''}`;
    return /address already in use/i.test(log) ? new PortInUseError(message) : new Error(message);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitInfo) {
      throw failure(`exited during start (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    }
    // Stop probing as soon as the process dies: whatever holds the port instead may never answer.
    const lastProbe = await Promise.race([probeReadiness(port, pid), exited.then(() => 'exited')]);
    if (lastProbe === READY) return { pid, child, exited };
    if (Date.now() >= deadline) {
      sendKillSignal(pid, 'SIGKILL');
      await exited;
      throw failure(`was not ready after ${START_TIMEOUT_MS} ms (last probe: ${lastProbe})`);
    }
    await sleep(READY_POLL_MS);
  }
}

const READY = 'ready';

/**
 * One readiness check. Ready means: the process answering on `port` is *our* pid (another test's
 * server may hold the port while ours fails to bind it) and PING answers PONG (not `-LOADING`,
 * which an AOF server replies while it replays its file).
 */
async function probeReadiness(port: number, pid: number): Promise<string> {
  try {
    const [info, ping] = await sendRawCommands(port, [['INFO', 'server'], ['PING']], { timeoutMs: 1000 });
    if (typeof info !== 'string') return `INFO server answered ${String(info)}`;
    const answeringPid = /^process_id:(\d+)/m.exec(info)?.[1];
    if (answeringPid !== String(pid)) return `port is answered by another redis-server (pid ${answeringPid})`;
    if (ping instanceof RespErrorReply) return `PING answered -${ping.message}`;
    return ping === 'PONG' ? READY : `PING answered ${String(ping)}`;
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  }
}
