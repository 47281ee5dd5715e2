import { z } from 'zod';
import { AppError } from './errors';

type Where = 'body' | 'query' | 'params';

/**
 * JSON nested deeper than this is refused before any schema or handler sees it. Real requests stay far below
 * (an OpenAI tool schema rarely passes 10); deeper input only makes recursive code (JSON.stringify of tools,
 * token estimates, translation) a way to burn CPU or overflow the stack. serde_json stops at 128 as well.
 */
export const MAX_JSON_DEPTH = 128;

const NUL_MESSAGE = 'must not contain NUL characters';

function invalid(where: Where, path: (string | number)[], message: string): AppError {
  // a NUL in a key would cut the message short in some clients' logs
  const full = [where, ...path].join('.').replace(/\0/g, '\\0');
  return new AppError('invalid_request', `Invalid ${where}: ${full} ${message}`, {
    details: [{ path: full, message }],
    param: full.split('.').slice(1).join('.') || null,
  });
}

/**
 * Refuses a body nested deeper than MAX_JSON_DEPTH and, where `refuseNul`, a NUL character in any string or key
 * (PostgreSQL text cannot hold one). The recursion stops at MAX_JSON_DEPTH, so the walk itself cannot overflow.
 */
export function assertSafeBody(value: unknown, refuseNul: boolean): void {
  const path: (string | number)[] = [];
  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      if (refuseNul && node.includes('\0')) throw invalid('body', path, NUL_MESSAGE);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (path.length >= MAX_JSON_DEPTH) throw invalid('body', path, `is nested more than ${MAX_JSON_DEPTH} levels deep`);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        visit(node[i]);
        path.pop();
      }
      return;
    }
    for (const key in node) {
      path.push(key);
      if (refuseNul && key.includes('\0')) throw invalid('body', path, NUL_MESSAGE);
      visit((node as Record<string, unknown>)[key]);
      path.pop();
    }
  };
  visit(value);
}

/** Query strings and path parameters: no NUL in any name or value (it reaches the database otherwise). */
export function assertSafeStrings(values: Record<string, unknown> | undefined, where: 'query' | 'params'): void {
  if (!values) return;
  for (const key in values) {
    const value = values[key];
    const list = Array.isArray(value) ? value : [value];
    if (key.includes('\0')) throw invalid(where, [key], NUL_MESSAGE);
    for (const item of list) if (typeof item === 'string' && item.includes('\0')) throw invalid(where, [key], NUL_MESSAGE);
  }
}

/** Parses input with a zod schema; failures become a 400 listing every problem by path. */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown, where: Where): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  const first = details[0];
  throw new AppError('invalid_request', `Invalid ${where}: ${first.path} ${first.message}`, {
    details,
    param: first.path.split('.').slice(1).join('.') || null,
  });
}
