import type { z } from 'zod';
import { InvalidArgumentError, type ValidationIssue } from './errors.js';

/** Flattens zod issues into plain {@link ValidationIssue}s (no zod types in public errors). */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * Validates options at a public boundary. Returns zod's parsed output (defaults applied).
 * A failure becomes an {@link InvalidArgumentError} whose `field` is the first bad option's
 * dotted path (prefixed with `prefix`); a raw ZodError never escapes.
 *
 * @param prefix - name of the options object, e.g. `WorkerOptions`
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toValidationIssues(result.error.issues);
  const first = issues[0];
  let path = first?.path ?? '';
  // An unknown option (strict objects) is reported on its parent: name the key itself, so a
  // typo like `retension` gives field `TopicOptions.retension`.
  const raw = result.error.issues[0];
  if (raw?.code === 'unrecognized_keys' && raw.keys[0] !== undefined) path = path ? `${path}.${raw.keys[0]}` : raw.keys[0];
  const field = path ? `${prefix}.${path}` : prefix;
  const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new InvalidArgumentError(field, detail, { data: { issues } });
}
