import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { trackProcess, untrackProcess } from './cleanup-registry.js';

/**
 * Kills a child when this process dies, even by SIGKILL (a jest worker killed hard runs no exit
 * handler, and redis-server would otherwise be orphaned forever, holding its port).
 *
 * How: a tiny `sh` whose stdin is a pipe from this process. We never write to it, so `read` blocks
 * until the kernel closes the pipe, which happens exactly when this process is gone, whatever
 * killed it. Then the watchdog SIGKILLs the guarded pid and removes its temp dir. No polling.
 * SIGINT/SIGTERM/SIGHUP are ignored so a Ctrl-C sent to the whole process group cannot kill the
 * watchdog before it has cleaned up. The `rm` only accepts paths containing `tributary-redis-`.
 * While this process lives, {@link ParentDeathWatchdog.dispose} is called as soon as the guarded
 * child exits, so the watchdog never outlives it and never signals a recycled pid.
 */
const WATCHDOG_SCRIPT = `
trap '' INT TERM HUP
read -r _ignored
kill -9 "$1" 2>/dev/null
case "$2" in
  */tributary-redis-*) rm -rf -- "$2" ;;
esac
`;

/** A running watchdog for one child process. */
export interface ParentDeathWatchdog {
  /** SIGKILLs the watchdog itself. Call once the guarded process has exited. Idempotent. */
  dispose(): void;
}

/**
 * Starts a watchdog that SIGKILLs `pid` (and removes `dir`, if given) when this process dies.
 *
 * @param pid - the child to guard.
 * @param dir - a `tributary-redis-*` temp dir to delete after the kill.
 */
export function startParentDeathWatchdog(pid: number, dir?: string): ParentDeathWatchdog {
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'tributary-watchdog', String(pid), dir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // The watchdog must not keep the test process alive: unref the process and its stdin pipe.
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  watchdog.stdin?.on('error', () => undefined);
  watchdog.on('error', () => undefined);
  const watchdogPid = watchdog.pid;
  if (watchdogPid === undefined) {
    // Without `sh` we cannot guard against hard kills; the exit handlers still work.
    return { dispose: () => undefined };
  }
  trackProcess(watchdog, `watchdog for pid ${pid}`, { isWatchdog: true });
  // If it ever ends on its own, forget its pid so an exit handler cannot SIGKILL a recycled one.
  watchdog.once('exit', () => untrackProcess(watchdogPid));
  let disposed = false;
  return {
    dispose(): void {
      if (disposed) return;
      disposed = true;
      untrackProcess(watchdogPid);
      try {
        process.kill(watchdogPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}
