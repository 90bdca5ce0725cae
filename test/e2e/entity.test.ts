/** The entity page in headless Chromium: score, components, topics, history chart, live activity, accounts, explanation. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshot, watchErrors } from '../helpers/browser.js';

const DAY = 86_400_000;
let n = 0;
const ev = (type: string, actor: string, target?: string, extra: object = {}) => ({ id: `ent${n++}`, network: 'x', type, actor, ...(target ? { target } : {}), ts: Date.now() - 2000, ...extra });

describe('entity page (/e/:id)', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startApp({ webDir: inject('webDir'), adminKey: 'adm', ingestKeys: ['ing'] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the score, its parts and evidence, and moves live', async () => {
    const post = (body: unknown) => postEvents(t.url, body, { authorization: 'Bearer ing' });
    await post([
      ev('profile', 'verge', undefined, { name: 'The <i>Verge</i>', followers: 3_000_000 }),
      ev('post', 'verge', undefined, { post: 'v1', topics: ['tech'], ts: Date.now() - 2 * DAY }),
      ev('post', 'verge', undefined, { post: 'v2', topics: ['tech'] }),
      ...['a', 'b', 'c', 'd'].map((u) => ev('reply', u, 'verge', { post: 'v2' })),
      ev('click', 'e', 'verge', { post: 'v2' }),
      ...['k1', 'k2', 'k3'].map((u) => ev('endorse', u, 'verge', { topics: ['gadgets'] })),
    ]);
    await until(async () => (await (await fetch(`${t.url}/api/entities/x:verge`)).json()).topics?.length === 2);
    await fetch(`${t.url}/api/entities/verge`, {
      method: 'PUT',
      headers: { authorization: 'Bearer adm', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'The <i>Verge</i>', kind: 'brand', accounts: ['x:verge'] }),
    });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await page.goto(`${t.url}/e/verge`);
    const scoreEl = page.getByTestId('entity-score');
    await scoreEl.waitFor();
    const api = await (await fetch(`${t.url}/api/entities/verge`)).json();
    await until(async () => ((await scoreEl.textContent()) ?? '').includes(api.score.toFixed(1)), 10_000, 'page shows the API score');
    expect(await page.getByTestId('component-bar').count()).toBe(5);
    for (const name of ['reach', 'engagement', 'amplification', 'outcomes', 'endorsements']) expect(await page.locator(`[data-testid="component-bar"][data-name="${name}"]`).count()).toBe(1);
    await page.locator('[data-testid="topic"][data-topic="tech"]').waitFor();
    await page.locator('[data-testid="topic"][data-topic="gadgets"]').waitFor();
    await page.getByTestId('history-chart').locator('canvas').first().waitFor();
    // The name with markup is text.
    expect(await page.locator('body').textContent()).toContain('The <i>Verge</i>');
    expect(await page.locator('i', { hasText: 'Verge' }).count()).toBe(0);
    expect(await page.locator('body').textContent()).toContain('x:verge');

    await post(Array.from({ length: 25 }, (_, i) => ev('share', `s${i}`, 'verge', { post: 'v2' })));
    await page.getByTestId('activity-item').first().waitFor({ timeout: 10_000 });
    const now = await until(async () => {
      const e = await (await fetch(`${t.url}/api/entities/verge`)).json();
      return e.score > api.score ? e : undefined;
    });
    await until(async () => ((await scoreEl.textContent()) ?? '').includes(now.score.toFixed(1)), 10_000, 'page shows the new score');
    await screenshot(page, 'entity');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says plainly when an entity does not exist', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.url}/e/nobody-here`);
    await page.getByText(/not found|no entity/i).first().waitFor();
    await screenshot(page, 'entity-not-found');
    await page.close();
  });
});
