/** Name and message of a thrown value, the message cut to `maxLength` characters (with `…`). */
export function describeError(error: unknown, maxLength: number): { name: string; message: string } {
  let name: string;
  let message: string;
  if (error instanceof Error) {
    name = error.name || 'Error';
    message = error.message;
  } else {
    // Handlers may throw anything: keep a readable trace of it rather than "[object Object]".
    name = typeof error;
    try {
      message = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
    } catch {
      message = String(error);
    }
  }
  if (message.length > maxLength) message = `${message.slice(0, Math.max(0, maxLength - 1))}…`;
  return { name, message };
}
