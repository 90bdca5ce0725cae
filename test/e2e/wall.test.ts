/** The wall display in headless Chromium: big live tickers that fit a TV, and stale data shown as stale while the server is down. */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postEvents, startApp, testPrefix, until, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshot, watchErrors } from '../helpers/browser.js';

let n = 0;
const reply = (target: string) => ({ id: `wall${n++}`, network: 'x', type: 'reply', actor: `r${n}`, target, post: `${target}-1`, ts: Date.now() - 1000 });
const score = async (url: string, id: string) => (await (await fetch(`${url}/api/entities/${id}`)).json()).score as number;

/** Posts replies to `handle` and waits until the wall shows the score they produce. */
async function bumpAndSee(page: Page, url: string, handle: string): Promise<void> {
  const id = `x:${handle}`;
  const before = await score(url, id);
  await postEvents(url, Array.from({ length: 30 }, () => reply(handle)));
  const after = await until(async () => {
    const s = await score(url, id);
    return s > before ? s : undefined;
  });
  await page.waitForFunction(
    ([want, sel]) => [...document.querySelectorAll(sel)].some((el) => el.textContent?.includes(want.toFixed(1))),
    [after, `[data-testid="wall-ticker"][data-id="${id}"] [data-testid="wall-score"]`] as const,
    { timeout: 10_000 },
  );
}

describe('wall display (/wall)', () => {
  let browser: Browser;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const a of apps) await a.close().catch(() => {});
  });

  it('fits 1920×1080 and 3840×2160 without scrolling, and moves live', async () => {
    const t = await startApp({ webDir: inject('webDir') });
    apps.push(t);
    await postEvents(t.url, [
      { id: 'wp1', network: 'x', type: 'profile', actor: 'nasa', name: 'NASA', followers: 80_000_000, ts: Date.now() - 5000 },
      { id: 'wp2', network: 'x', type: 'profile', actor: 'esa', name: 'ESA', followers: 2_000_000, ts: Date.now() - 5000 },
      ...Array.from({ length: 5 }, () => reply('nasa')),
      ...Array.from({ length: 3 }, () => reply('esa')),
    ]);
    await until(async () => (await fetch(`${t.url}/api/entities/x:esa`)).status === 200);
    for (const [width, height] of [
      [1920, 1080],
      [3840, 2160],
    ] as const) {
      const page = await browser.newPage({ viewport: { width, height } });
      const errors = watchErrors(page);
      await page.goto(`${t.url}/wall?entities=x:nasa,x:esa&rotate=2`);
      await page.locator('[data-testid="wall-ticker"][data-id="x:esa"]').first().waitFor();
      await page.getByTestId('wall-status').filter({ hasText: 'Live' }).waitFor();
      const fits = await page.evaluate(() => ({ h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth, ih: innerHeight, iw: innerWidth }));
      expect(fits.h).toBeLessThanOrEqual(fits.ih);
      expect(fits.w).toBeLessThanOrEqual(fits.iw);
      // Dark by default.
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g)!.map(Number);
      expect(r! + g! + b!).toBeLessThan(150);
      if (width === 1920) await bumpAndSee(page, t.url, 'esa');
      await screenshot(page, `wall-${width}x${height}`);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('shows stale data as stale while the server is down, and recovers by itself', async () => {
    const prefix = testPrefix();
    const first = await startApp({ webDir: inject('webDir'), keyPrefix: prefix });
    const port = Number(new URL(first.url).port);
    await postEvents(first.url, Array.from({ length: 5 }, () => reply('phoenix')));
    await until(async () => (await fetch(`${first.url}/api/entities/x:phoenix`)).status === 200);
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${first.url}/wall?entities=x:phoenix&rotate=5`);
    await page.getByTestId('wall-status').filter({ hasText: 'Live' }).waitFor();
    expect(await page.getByTestId('stale').count()).toBe(0);

    await first.close();
    const stale = page.getByTestId('stale');
    await stale.waitFor({ timeout: 15_000 });
    expect(await stale.textContent()).toMatch(/\d{1,2}:\d{2}:\d{2}/);
    await screenshot(page, 'wall-stale');

    const second = await startApp({ webDir: inject('webDir'), keyPrefix: prefix, port });
    apps.push(second);
    await page.getByTestId('wall-status').filter({ hasText: 'Live' }).waitFor({ timeout: 30_000 });
    await stale.waitFor({ state: 'detached', timeout: 10_000 });
    await bumpAndSee(page, second.url, 'phoenix');
    await page.close();
  });
});
