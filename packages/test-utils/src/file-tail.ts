import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Size of `file` in bytes, or 0 if it does not exist (yet). */
export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * The last `maxLines` lines written to `file` after byte `fromOffset`, or '' if there are none.
 * Start errors quote only what the failed launch wrote, not an earlier run's log in the same dir.
 */
export function fileTail(file: string, fromOffset = 0, maxLines = 30): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    // Read at most the last 64 KiB: plenty for 30 log lines.
    const start = Math.max(fromOffset, size - 64 * 1024);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-maxLines).join('\n');
  } finally {
    closeSync(fd);
  }
}
