/** The Pulse page in headless Chromium, served by the real app: it shows the leaderboard and moves without reload. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Simulator } from '../../server/ingest/demo.js';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshot, watchErrors } from '../helpers/browser.js';

let n = 0;
const ev = (type: string, actor: string, target?: string, extra: object = {}) => ({
  id: `b${n++}`,
  network: 'x',
  type,
  actor,
  ...(target ? { target } : {}),
  ts: Date.now() - 1000,
  ...extra,
});

describe('Pulse (/)', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startApp({ webDir: inject('webDir') });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the live leaderboard and a score change after events are posted, without reload', async () => {
    await postEvents(t.url, [
      ev('profile', 'wired', undefined, { name: 'WIRED', followers: 5_000_000 }),
      ev('profile', 'quiet', undefined, { name: 'Quiet <b>Co</b>', followers: 100 }),
      ...Array.from({ length: 5 }, (_, i) => ev('like', `fan${i}`, 'wired')),
      ev('like', 'fan0', 'quiet'),
    ]);
    await until(async () => (await (await fetch(`${t.url}/api/leaderboard`)).json()).total >= 3);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(`${t.url}/`);
    await page.getByTestId('status').filter({ hasText: 'Live' }).waitFor();
    const quietRow = page.locator('[data-testid="pulse-row"][data-id="x:quiet"]');
    await quietRow.waitFor();
    // A name holding HTML is shown as text, never run.
    await expect(quietRow.textContent()).resolves.toContain('Quiet <b>Co</b>');
    const before = Number(await quietRow.getByTestId('score').textContent());
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

    await postEvents(t.url, Array.from({ length: 30 }, (_, i) => ev('reply', `replier${i}`, 'quiet')));
    await page.waitForFunction(
      (prev) => Number(document.querySelector('[data-id="x:quiet"] [data-testid="score"]')?.textContent) > prev,
      before,
      { timeout: 15_000 },
    );
    const after = Number(await quietRow.getByTestId('score').textContent());
    expect(after).toBeGreaterThan(before);
    const api = await (await fetch(`${t.url}/api/entities/x:quiet`)).json();
    await until(async () => Number(await quietRow.getByTestId('score').textContent()) === api.score, 5000, 'page shows the API score');
    // Same page, never reloaded.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    // Let the rank animation settle (the status pill's pulse runs forever and is not waited for).
    await page.waitForFunction(() => document.getAnimations().every((a) => a.effect?.getTiming().iterations === Infinity));
    await screenshot(page, 'pulse');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters by kind, topic and network, reflected in the URL, on a simulated population', async () => {
    const sim = new Simulator({ seed: 4, accounts: 300 });
    const brands = sim.entities();
    for (const e of brands) await t.app.entities.put(e.id, e);
    const end = Date.now() - 1000;
    const events = [...sim.profiles(end - 3 * 86_400_000), ...sim.history(8000, end - 3 * 86_400_000, end)];
    for (let i = 0; i < events.length; i += 2000) await postEvents(t.url, events.slice(i, i + 2000));
    await until(() => (t.app.ingest!.stats.accepted === t.app.pipeline!.stats.eventsScored ? true : undefined), 30_000);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await page.goto(`${t.url}/?scope=kind:brand`);
    await page.getByTestId('status').filter({ hasText: 'Live' }).waitFor();
    await page.getByTestId('pulse-row').first().waitFor();
    const ids = await page.getByTestId('pulse-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    const brandIds = new Set(brands.map((b) => b.id));
    expect(ids.length).toBeGreaterThan(3);
    for (const id of ids) expect(brandIds.has(id!)).toBe(true);

    // Choosing a network puts it in the URL and shows only that network's entities.
    await page.locator('[data-testid="scope-select"][data-scope-kind="network"]').selectOption('network:bluesky');
    await page.waitForURL(/scope=network(:|%3A)bluesky/);
    await until(async () => {
      const now = await page.getByTestId('pulse-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
      return now.length > 0 && now.every((id) => id!.startsWith('bluesky:') || brandIds.has(id!)) ? true : undefined;
    }, 10_000, 'bluesky rows');
    const api = await (await fetch(`${t.url}/api/leaderboard?scope=network:bluesky&limit=20`)).json();
    await until(async () => (await page.getByTestId('pulse-row').first().getAttribute('data-id')) === api.entries[0].id || undefined, 10_000, 'first row as the API');
    await page.goto(`${t.url}/`);
    await page.getByTestId('pulse-row').nth(5).waitFor();
    await page.waitForFunction(() => document.getAnimations().every((a) => a.effect?.getTiming().iterations === Infinity));
    await screenshot(page, 'pulse-demo');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('follows the system theme by default, and ?theme= overrides it, on every page', async () => {
    const background = async (scheme: 'light' | 'dark', path: string) => {
      const page = await browser.newPage({ colorScheme: scheme });
      const errors = watchErrors(page);
      await page.goto(`${t.url}${path}`);
      await page.waitForFunction(() => document.documentElement.dataset.theme !== undefined);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g)!.map(Number);
      if (path.startsWith('/e/')) await page.getByTestId('entity-score').waitFor();
      await screenshot(page, `theme-${scheme}-${path.replace(/[^a-z]+/g, '-')}`);
      expect(errors).toEqual([]);
      await page.close();
      return r! + g! + b! < 200 ? 'dark' : 'light';
    };
    expect(await background('light', '/')).toBe('light');
    expect(await background('dark', '/')).toBe('dark');
    expect(await background('dark', '/?theme=light')).toBe('light');
    expect(await background('light', '/e/x:wired?theme=dark')).toBe('dark');
    expect(await background('dark', '/e/x:wired')).toBe('dark');
    // The wall is dark unless asked otherwise.
    expect(await background('light', '/wall')).toBe('dark');
    expect(await background('dark', '/wall?theme=light')).toBe('light');
  });
});
