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
  const field = first && first.path ? `${prefix}.${first.path}` : prefix;
  const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new InvalidArgumentError(field, detail, { data: { issues } });
}
