import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { QueryOptions, Results } from '@electric-sql/pglite';

/**
 * The embedded database (PGlite, PostgreSQL compiled to WebAssembly) in a worker thread of its own.
 *
 * PGlite runs a query synchronously from start to end: on the gateway's event loop, every query stalled every
 * request for its duration (a usage-writer transaction ~6 ms), which showed as p99 spikes. Here the WebAssembly
 * runs in a `node:worker_threads` Worker and the main thread only posts the SQL and its bindings and receives the
 * rows (structured clone: Date, Uint8Array, arrays and plain objects cross as they are).
 *
 * The object answers the three things knex-pglite uses on a PGlite: `waitReady`, `query(sql, params, options)` and
 * `close()`. PGlite is single-connection and knex-pglite keeps a pool of one, so queries arrive one at a time;
 * should several arrive, the worker runs them in order of arrival.
 *
 * Lifetime: the worker holds the process open only while a request is in flight (ref while pending, unref when
 * idle), so a finished CLI command exits, and a process never exits under a query. If the worker dies, every
 * pending query and every later one rejects with the same error (the gateway answers database failures with 503).
 */
export interface PGliteLike {
  readonly waitReady: Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  close(): Promise<void>;
}

export interface PGliteThreadOptions {
  /** PostgreSQL's start parameters (PGlite's `startParams`) */
  startParams: string[];
}

/** The fields of a PostgreSQL error (pg-protocol's DatabaseError) that cross from the worker with its message. */
const ERROR_FIELDS = [
  'code', 'detail', 'constraint', 'table', 'column', 'schema', 'severity', 'hint', 'position', 'where',
  'file', 'line', 'routine', 'dataType', 'internalPosition', 'internalQuery', 'length',
] as const;

type PlainError = { message: string; name?: string; stack?: string } & Partial<Record<(typeof ERROR_FIELDS)[number], string | number>>;

/** what the main thread posts, tagged with an id the reply carries back */
type RequestBody =
  | { op: 'ready' }
  | { op: 'close' }
  | { op: 'query'; sql: string; params?: unknown[]; options?: { rowMode?: 'array' | 'object'; paramTypes?: number[] } };

type Reply = { id: number; result?: unknown; error?: PlainError };

/**
 * The worker's code, plain JavaScript evaluated by the Worker (`eval: true`): nothing TypeScript is loaded in the
 * thread, so this runs the same under tsx, ts-jest/swc and from dist/. PGlite is imported by resolved file URL,
 * as initialiseDataDir does for initdb. bigint (INT8 = 20) and numeric (NUMERIC = 1700) come back as numbers, as
 * they do from PostgreSQL through pg (see db.ts).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const FIELDS = ${JSON.stringify(ERROR_FIELDS)};
function plain(err) {
  const out = { message: String((err && err.message) || err), name: (err && err.name) || 'Error', stack: err && err.stack };
  if (err && typeof err === 'object') {
    for (const key of FIELDS) {
      const value = err[key];
      if (typeof value === 'string' || typeof value === 'number') out[key] = value;
    }
  }
  return out;
}
let db;
const opened = import(workerData.pglite).then(async ({ PGlite }) => {
  // one options object: new PGlite(undefined, options) would ignore the options (an in-memory database)
  db = new PGlite({
    dataDir: workerData.dataDir,
    parsers: { 20: (v) => Number(v), 1700: (v) => Number(v) },
    startParams: workerData.startParams,
  });
  await db.waitReady;
});
opened.catch(() => {}); // reported to each request below
async function run(msg) {
  let reply;
  try {
    await opened;
    if (msg.op === 'query') {
      const r = await db.query(msg.sql, msg.params, msg.options);
      reply = { id: msg.id, result: { rows: r.rows, affectedRows: r.affectedRows, fields: r.fields } };
    } else if (msg.op === 'close') {
      await db.close();
      reply = { id: msg.id, result: null };
    } else {
      reply = { id: msg.id, result: null };
    }
  } catch (err) {
    reply = { id: msg.id, error: plain(err) };
  }
  try {
    parentPort.postMessage(reply);
  } catch (err) {
    // a value that cannot be cloned (none of PGlite's parsers make one): the query fails, the thread lives on
    parentPort.postMessage({ id: msg.id, error: plain(err) });
  }
}
let queue = Promise.resolve();
parentPort.on('message', (msg) => {
  queue = queue.then(() => run(msg)).catch(() => {});
});
`;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class PGliteThread implements PGliteLike {
  readonly waitReady: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** set once the worker is gone (or closing): every request from then on rejects with it */
  private failure?: Error;
  private closing?: Promise<void>;

  constructor(dataDir: string | undefined, options: PGliteThreadOptions) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'pglite',
      workerData: {
        pglite: pathToFileURL(require.resolve('@electric-sql/pglite')).href,
        dataDir,
        startParams: options.startParams,
      },
    });
    this.worker.unref(); // held only while a request is in flight (see request)
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (err) => this.fail(new Error(`the embedded database (PGlite worker thread) failed: ${err.message}`, { cause: err })));
    this.worker.on('messageerror', (err) => {
      // a reply that could not be read: which request it answered is unknown, so the thread is given up
      this.fail(new Error(`the embedded database (PGlite worker thread) sent a reply that could not be read: ${err.message}`, { cause: err }));
      void this.worker.terminate();
    });
    this.worker.on('exit', (code) => {
      this.fail(
        this.closing ? closedError() : new Error(`the embedded database (PGlite worker thread) stopped unexpectedly (exit code ${code})`),
      );
    });
    this.waitReady = this.request({ op: 'ready' }).then(() => undefined);
    this.waitReady.catch(() => {}); // whoever awaits it sees the failure; nobody awaiting is no unhandled rejection
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    // only the options that can cross: parsers, serializers and callbacks are functions, a blob is not sent
    const sent = options && (options.rowMode || options.paramTypes) ? { rowMode: options.rowMode, paramTypes: options.paramTypes } : undefined;
    return this.request({ op: 'query', sql, params, options: sent }) as Promise<Results<T>>;
  }

  /** Closes PGlite in the worker (after the queries already sent), then ends the thread. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      const closed = this.failure ? Promise.resolve() : this.request({ op: 'close' }).then(() => undefined);
      this.closing = closed.finally(() => this.worker.terminate()).then(() => undefined);
    }
    return this.closing;
  }

  /** Test hook: kills the thread as a crash would (pending and later queries reject). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private request(body: RequestBody): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(closedError());
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ ...body, id });
      } catch (err) {
        // a binding that cannot be cloned (a function, a symbol): this query fails, nothing was sent
        reject(err as Error);
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
    });
  }

  private settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.error) waiting.reject(rebuildError(reply.error));
    else waiting.resolve(reply.result);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const w of waiting) w.reject(this.failure);
  }
}

function closedError(): Error {
  return new Error('the embedded database (PGlite worker thread) is closed');
}

/** A PostgreSQL error from the worker as an Error again, with its fields (code 23505, constraint, detail...). */
function rebuildError(plain: PlainError): Error {
  const err = new Error(plain.message) as Error & Record<string, unknown>;
  if (plain.name) err.name = plain.name;
  for (const key of ERROR_FIELDS) if (plain[key] !== undefined) err[key] = plain[key];
  if (plain.stack) err.stack = `${err.stack}\n  in the PGlite worker thread: ${plain.stack}`;
  return err;
}

/** Starts PGlite in a worker thread on `dataDir` (undefined: in memory) and waits until it accepts queries. */
export async function openPGliteThread(dataDir: string | undefined, options: PGliteThreadOptions): Promise<PGliteThread> {
  const thread = new PGliteThread(dataDir, options);
  try {
    await thread.waitReady;
  } catch (err) {
    await thread.terminate();
    throw new Error(`could not open the embedded database${dataDir ? ` in ${dataDir}` : ''}: ${(err as Error).message}`, { cause: err });
  }
  return thread;
}
