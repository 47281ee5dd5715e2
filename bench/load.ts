/**
 * The load generators. Closed loop: autocannon (N connections, each sends its next request when the last
 * answer arrived), with every latency kept at full resolution. Open loop: requests fire on a fixed schedule
 * whatever the server does, and latency counts from the SCHEDULED send time, so a server that stalls is
 * charged for the queue it causes (no coordinated omission). Streams: whole-stream time and time to the
 * first body byte, closed loop over N connections or open loop at a fixed rate.
 */
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface Target {
  name: string;
  /** full URL of the chat completions endpoint */
  url: string;
  headers: Record<string, string>;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface LoadResult {
  /** completed with the expected status (and, for streams, a terminating [DONE]) */
  ok: number;
  failed: number;
  /** why they failed: HTTP status, 'error' (connection), 'timeout', or 'no [DONE]' for a stream cut short */
  failures: Record<string, number>;
  durationS: number;
  /** one per successful request, milliseconds; merged across rounds before percentiles are taken */
  latencies: number[];
  /** milliseconds to the first body byte; streams only */
  ttfbs: number[];
}

function count(failures: Record<string, number>, why: string | number): void {
  failures[why] = (failures[why] ?? 0) + 1;
}

export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), mean: sorted.length ? sum / sorted.length : NaN };
}

export async function closedLoop(target: Target, body: string, connections: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  const instance = autocannon({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
    else {
      failed += 1;
      count(failures, status);
    }
  });
  const result = await instance;
  if (result.errors) failures.error = result.errors;
  if (result.timeouts) failures.timeout = result.timeouts;
  return { ok: latencies.length, failed: failed + result.errors + result.timeouts, failures, durationS: result.duration, latencies, ttfbs: [] };
}

interface Exchange {
  /** null when it went right */
  failure: string | null;
  ttfb: number;
  end: number;
}

/** One request; times are performance.now() values, measured by the caller against its own start. */
function exchange(pool: Pool, path: string, headers: Record<string, string>, body: string, stream: boolean): Promise<Exchange> {
  return new Promise((resolve) => {
    pool.request({ method: 'POST', path, headers, body }).then(
      (res) => {
        let ttfb = 0;
        let tail = ''; // the last bytes of a stream, across chunk boundaries, to find its [DONE]
        res.body.on('data', (chunk: Buffer) => {
          if (ttfb === 0) ttfb = performance.now();
          if (stream) tail = (tail + chunk.toString('latin1', Math.max(0, chunk.length - 32))).slice(-32);
        });
        res.body.on('end', () => {
          const failure = res.statusCode !== 200 ? String(res.statusCode) : stream && !tail.includes('[DONE]') ? 'no [DONE]' : null;
          resolve({ failure, ttfb, end: performance.now() });
        });
        res.body.on('error', () => resolve({ failure: 'error', ttfb, end: performance.now() }));
      },
      () => resolve({ failure: 'error', ttfb: 0, end: performance.now() }),
    );
  });
}

function poolFor(target: Target, connections: number): { pool: Pool; path: string; headers: Record<string, string> } {
  const url = new URL(target.url);
  return {
    pool: new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 }),
    path: url.pathname,
    headers: { 'content-type': 'application/json', ...target.headers },
  };
}

/** N workers, each sending its next request when the previous one (stream included) has ended. */
export async function closedLoopStreams(target: Target, body: string, connections: number, seconds: number): Promise<LoadResult> {
  const { pool, path, headers } = poolFor(target, connections);
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const sentAt = performance.now();
      const result = await exchange(pool, path, headers, body, true);
      if (result.failure) {
        failed += 1;
        count(failures, result.failure);
      } else {
        latencies.push(result.end - sentAt);
        ttfbs.push(result.ttfb - sentAt);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const durationS = (performance.now() - started) / 1000;
  await pool.close();
  return { ok: latencies.length, failed, failures, durationS, latencies, ttfbs };
}

/**
 * rate × seconds requests, each fired at its scheduled time (a 1 ms timer; a late tick fires every request
 * that is due, and the lateness is part of the latency, equally for every target). Requests still open
 * `graceMs` after the last one was due count as failed.
 */
export async function openLoop(target: Target, body: string, rate: number, seconds: number, stream: boolean, graceMs = 10_000): Promise<LoadResult> {
  // Enough connections to ride out a stall of a few hundred requests; more would make a stalled server face
  // a burst of new connections (SYN retransmits add whole seconds) instead of a queue, which is not the test.
  const { pool, path, headers } = poolFor(target, 64);
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  let settled = 0;
  let allSettled: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allSettled = resolve));
  const fire = (scheduled: number) => {
    exchange(pool, path, headers, body, stream).then((result) => {
      if (result.failure) {
        failed += 1;
        count(failures, result.failure);
      } else {
        latencies.push(result.end - scheduled);
        if (stream) ttfbs.push(result.ttfb - scheduled);
      }
      if (++settled === total) allSettled();
    });
  };
  const start = performance.now() + 5;
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) fire(start + next++ * interval);
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now() - 0.5));
    };
    tick();
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  const durationS = (performance.now() - start) / 1000;
  if (total > settled) failures.timeout = total - settled;
  failed += total - settled;
  await pool.destroy();
  return { ok: latencies.length, failed, failures, durationS, latencies, ttfbs };
}
