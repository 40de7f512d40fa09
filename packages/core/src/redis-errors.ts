import { ErrorReply } from 'redis';
import { ErrorCode, NoGroupError, TributaryError, UnsupportedError } from './errors.js';

/** The first word of a Redis error reply, e.g. `NOGROUP`, `BUSYGROUP`, `ERR`. */
function replyPrefix(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const space = error.message.indexOf(' ');
  return space === -1 ? error.message : error.message.slice(0, space);
}

/**
 * Is this an error reply from the server (as opposed to a connection, timeout or client
 * error)? A reply means Redis is reachable and refused this one command.
 */
export function isErrorReply(error: unknown): boolean {
  return error instanceof ErrorReply;
}

/** Did Redis answer `NOGROUP` (group or stream missing)? */
export function isNoGroupReply(error: unknown): boolean {
  return replyPrefix(error) === 'NOGROUP';
}

/** Did Redis answer `BUSYGROUP` (group already exists)? */
export function isBusyGroupReply(error: unknown): boolean {
  return replyPrefix(error) === 'BUSYGROUP';
}

/** Did Redis answer `NOSCRIPT` (script not cached on this node)? */
export function isNoScriptReply(error: unknown): boolean {
  return replyPrefix(error) === 'NOSCRIPT';
}

/**
 * Turns a Redis error reply into a typed {@link TributaryError}. Every package calls this one
 * function, so server replies are parsed in exactly one place. Errors that are already
 * Tributary errors pass through unchanged; connection errors are wrapped with code `ERR_REDIS`.
 *
 * @param error - what node-redis rejected with
 * @param context - what was being done, used in the message (e.g. `XREADGROUP {orders}`)
 */
export function toTributaryError(error: unknown, context: string): TributaryError {
  if (error instanceof TributaryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  switch (replyPrefix(error)) {
    case 'NOGROUP':
      return new NoGroupError(`${context}: ${message}`, { cause: error });
    case 'BUSYGROUP':
      return new TributaryError(ErrorCode.BusyGroup, `${context}: ${message}`, { cause: error });
    case 'CROSSSLOT':
      return new TributaryError(
        ErrorCode.CrossSlot,
        `${context}: ${message} (all keys of one call must share a hash tag, e.g. {orders})`,
        { cause: error },
      );
    case 'ERR':
      if (/unknown (sub)?command|syntax error|wrong number of arguments/i.test(message)) {
        return new UnsupportedError(`${context}: ${message} (is the Redis server too old?)`, { cause: error });
      }
      return new TributaryError(ErrorCode.Redis, `${context}: ${message}`, { cause: error });
    default:
      return new TributaryError(ErrorCode.Redis, `${context}: ${message}`, { cause: error });
  }
}
