import type { Locator, Page } from 'playwright-core';

/** Page objects for the Overview (home) and the Usage explorer, found the way a person finds them. */
export class OverviewPage {
  constructor(readonly page: Page) {}

  /** A figure in the totals row ("Requests", "Spend", …) as shown. */
  async total(name: string): Promise<string> {
    const term = this.page.locator('dl[aria-label="Totals"] div').filter({ has: this.page.getByRole('term').filter({ hasText: new RegExp(`^${name}$`) }) });
    return (await term.getByRole('definition').innerText()).trim();
  }

  chart(caption: RegExp | string): Locator {
    return this.page.getByRole('figure').filter({ has: this.page.getByText(caption) });
  }

  /** Hovers over the newest point of a chart and reads its legend (the values at that point). */
  async latestLegend(caption: RegExp | string): Promise<string> {
    const chart = this.chart(caption);
    const over = chart.locator('.u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width - 1, y: box.height / 2 } });
    return chart.locator('.u-legend').innerText();
  }

  walletHealth(): Locator {
    return this.page.getByRole('region', { name: 'Wallet health' });
  }
}

export class UsageExplorer {
  constructor(readonly page: Page) {}

  async filter(opts: { groupBy?: string; status?: string; model?: string }) {
    if (opts.groupBy) await this.page.getByLabel('Group by').selectOption({ label: opts.groupBy });
    if (opts.status) await this.page.getByLabel('Status').selectOption(opts.status);
    if (opts.model !== undefined) await this.page.getByLabel('Model').fill(opts.model);
  }

  table(): Locator {
    return this.page.getByRole('table', { name: 'Usage by group' });
  }

  /** The table's body as text cells, row by row. */
  async rows(): Promise<string[][]> {
    const rows = await this.table().locator('tbody tr').all();
    return Promise.all(rows.map(async (r) => (await r.locator('td').allInnerTexts()).map((t) => t.trim())));
  }

  /** Clicks "Export CSV" and returns the downloaded file's text. */
  async exportCsv(): Promise<{ name: string; text: string }> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.page.getByRole('button', { name: 'Export CSV' }).click()]);
    const stream = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { name: download.suggestedFilename(), text: Buffer.concat(chunks).toString('utf8') };
  }
}
