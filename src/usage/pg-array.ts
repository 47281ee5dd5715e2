type Scalar = string | number | boolean | null | undefined;

/**
 * A PostgreSQL array literal (`{"a",NULL,3}`) for one `?::type[]` parameter. Built here because knex
 * expands a JS array binding into a list of placeholders instead of passing it as one array value.
 * Strings are always double-quoted with `\` and `"` escaped, so commas, braces, quotes, newlines and the
 * word NULL survive as data; null and undefined become SQL NULL.
 */
export function pgArrayLiteral(values: readonly Scalar[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') out += `"${v.replace(/[\\"]/g, '\\$&')}"`;
    else out += String(v);
  }
  return out + '}';
}

/** One array literal per column, in column order: the parameters of an `insert … select * from unnest(…)`. */
export function columnArrays<R extends object>(rows: readonly R[], columns: readonly (keyof R & string)[]): string[] {
  return columns.map((c) => pgArrayLiteral(rows.map((r) => r[c] as Scalar)));
}
