import { z } from 'zod';
import { AppError } from './errors';

/** Parses input with a zod schema; failures become a 400 listing every problem by path. */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown, where: 'body' | 'query' | 'params'): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  const first = details[0];
  throw new AppError('invalid_request', `Invalid ${where}: ${first.path} ${first.message}`, {
    details,
    param: first.path.split('.').slice(1).join('.') || null,
  });
}
