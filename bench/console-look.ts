/**
 * Opens the console's Overview and Usage pages in headless Chromium against a running, seeded gateway, saves
 * screenshots under test-results/console-data/ and measures how long a 90-day usage chart takes to draw:
 *   GW=http://127.0.0.1:8080 EMAIL=… PASSWORD=… npx tsx bench/console-look.ts
 * The time is from the explorer's request for the range (a click) to both charts' canvases being drawn, and from
 * the data's arrival (the page's `usage-series-received` mark) to the canvases, median of 5 runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const GW = process.env.GW ?? 'http://127.0.0.1:8080';
const OUT = path.resolve('test-results/console-data');

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  const page = await browser.newPage({ baseURL: GW, viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => console.error('pageerror', e));
  page.on('console', (m) => m.type() === 'error' && console.error('console', m.text()));
  await page.goto('/console/login');
  await page.getByLabel('Email').fill(process.env.EMAIL!);
  await page.getByLabel('Password', { exact: true }).fill(process.env.PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  await page.locator('figure.chart canvas').first().waitFor();
  await page.getByRole('heading', { name: 'Wallet health' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'overview-admin.png'), fullPage: true });

  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
  const timings: { click: number; fromData: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const groupBy = i % 2 ? 'model' : 'user';
    await page.goto(`/console/usage?from=${from}&to=${today}&bucket=day&groupBy=service`);
    await page.locator('figure.chart canvas').nth(1).waitFor();
    // browser-side code reads the DOM through `any`: the project's TypeScript has no DOM types
    /* eslint-disable @typescript-eslint/no-explicit-any */
    await page.evaluate(() => {
      const w = globalThis as any;
      w.performance.clearMarks();
      w.__old = new Set(Array.from(w.document.querySelectorAll('figure.chart canvas')));
      w.__t0 = w.performance.now();
    });
    await page.getByLabel('Group by').selectOption(groupBy);
    await page.waitForFunction(() => {
      const w = globalThis as any;
      const canvases: unknown[] = Array.from(w.document.querySelectorAll('figure.chart canvas'));
      return canvases.length === 2 && canvases.every((c) => !w.__old.has(c)) && w.performance.getEntriesByName('usage-series-received').length > 0;
    });
    // the next frame after the new canvases exist: uPlot has drawn into them
    const t = await page.evaluate(
      () =>
        new Promise<{ click: number; fromData: number }>((resolve) => {
          const w = globalThis as any;
          w.requestAnimationFrame(() => {
            const now = w.performance.now();
            const data = w.performance.getEntriesByName('usage-series-received').at(-1).startTime;
            resolve({ click: now - w.__t0, fromData: now - data });
          });
        }),
    );
    timings.push(t);
  }
  await page.screenshot({ path: path.join(OUT, 'usage-90d.png'), fullPage: true });
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`90-day usage charts: click → drawn median ${med(timings.map((t) => t.click)).toFixed(0)} ms; data → drawn median ${med(timings.map((t) => t.fromData)).toFixed(0)} ms`);
  console.log(JSON.stringify(timings.map((t) => ({ click: Math.round(t.click), fromData: Math.round(t.fromData) }))));
  await browser.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
