/**
 * Latency of the analytics endpoints the console calls, against a running gateway (seed it first with
 * `npm run seed:usage`):  GW=http://127.0.0.1:8080 EMAIL=… PASSWORD=… DEV_EMAIL=… npx tsx bench/console-analytics.ts [N]
 * Each endpoint is called N times (default 50) one after another after two warm-up calls; p50 / p95 / max in ms.
 */
const GW = process.env.GW ?? 'http://127.0.0.1:8080';
const N = Number(process.argv[2] ?? 50);

async function login(email: string, password: string): Promise<string> {
  const res = await fetch(`${GW}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(label: string, path: string, token: string): Promise<void> {
  const call = async () => {
    const t0 = performance.now();
    const res = await fetch(GW + path, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return performance.now() - t0;
  };
  await call();
  await call();
  const times: number[] = [];
  for (let i = 0; i < N; i++) times.push(await call());
  times.sort((a, b) => a - b);
  console.log(`| ${label} | \`${path.replace(/\?.*/, '')}\` | ${pct(times, 50).toFixed(1)} | ${pct(times, 95).toFixed(1)} | ${times[times.length - 1].toFixed(1)} |`);
}

async function main() {
  const admin = await login(process.env.EMAIL!, process.env.PASSWORD!);
  const dev = process.env.DEV_EMAIL ? await login(process.env.DEV_EMAIL, process.env.DEV_PASSWORD ?? 'seed-password-123') : null;
  const since24h = new Date(Date.now() - 86_400_000).toISOString();
  console.log(`| what | route | p50 ms | p95 ms | max ms |\n|---|---|---:|---:|---:|`);
  const cases: [string, string, string][] = [
    ['overview 24 h (hourly rollup)', `/analytics/overview?from=${since24h}`, admin],
    ['overview 7 d', `/analytics/overview?from=${day(6)}&to=${day(0)}`, admin],
    ['overview 30 d', `/analytics/overview?from=${day(29)}&to=${day(0)}`, admin],
    ['series 24 h hourly', `/analytics/timeseries?bucket=hour`, admin],
    ['series 24 h hourly by status', `/analytics/timeseries?bucket=hour&groupBy=status`, admin],
    ['series 7 d hourly', `/analytics/timeseries?bucket=hour&from=${day(6)}&to=${day(0)}`, admin],
    ['series 30 d daily', `/analytics/timeseries?bucket=day&from=${day(29)}&to=${day(0)}`, admin],
    ['series 90 d daily', `/analytics/timeseries?bucket=day&from=${day(89)}&to=${day(0)}`, admin],
    ['series 90 d daily, top 10 users', `/analytics/timeseries?bucket=day&from=${day(89)}&to=${day(0)}&groupBy=user&top=10`, admin],
    ['series 90 d daily, by model', `/analytics/timeseries?bucket=day&from=${day(89)}&to=${day(0)}&groupBy=model`, admin],
    ['series 90 d daily, by status', `/analytics/timeseries?bucket=day&from=${day(89)}&to=${day(0)}&groupBy=status`, admin],
    ['usage 90 d by user', `/analytics/usage?from=${day(89)}&to=${day(0)}&groupBy=user`, admin],
    ['usage 90 d by key, CSV', `/analytics/usage?from=${day(89)}&to=${day(0)}&groupBy=key&format=csv`, admin],
    ['wallet health', `/wallet/health`, admin],
  ];
  if (dev) {
    cases.push(
      ['developer: series 30 d daily (own)', `/analytics/timeseries?bucket=day&from=${day(29)}&to=${day(0)}`, dev],
      ['developer: series 24 h hourly (own)', `/analytics/timeseries?bucket=hour`, dev],
      ['developer: overview 30 d (own)', `/analytics/overview?from=${day(29)}&to=${day(0)}`, dev],
    );
  }
  for (const [label, path, token] of cases) await measure(label, path, token);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
