/**
 * Embeds on another site: a page served from a second origin (another port)
 * holds both custom elements and an iframe widget and sees them update; a
 * third origin that EMBED_ORIGINS does not name cannot frame the widget.
 */
import type { Browser, Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshot, watchErrors } from '../helpers/browser.js';
import { serveOrigin, type Origin } from '../helpers/origin.js';

let n = 0;
const reply = (target: string, name?: string) => ({ id: `emb${n++}`, network: 'x', type: 'reply', actor: `r${n}`, target, post: `${target}-p`, ts: Date.now() - 1000, ...(name ? {} : {}) });

describe('embeds', () => {
  let t: TestApp;
  let allowed: Origin;
  let other: Origin;
  let browser: Browser;
  const pages: Record<string, string> = {};
  const otherPages: Record<string, string> = {};
  beforeAll(async () => {
    allowed = await serveOrigin(pages);
    other = await serveOrigin(otherPages);
    t = await startApp({ webDir: inject('webDir'), embedOrigins: [allowed.url] });
    pages['/'] = `<!doctype html><html><head><title>A partner site</title></head><body style="font-family:sans-serif">
      <h1>Partner site</h1>
      <p>Custom elements:</p>
      <resonance-score id="badge" entity="x:embedded" theme="dark"></resonance-score>
      <resonance-leaderboard id="board" scope="global" limit="3"></resonance-leaderboard>
      <p>Iframe widget:</p>
      <iframe id="frame" src="${t.url}/embed/score/x:embedded?theme=light" width="320" height="140" style="border:0"></iframe>
      <script src="${t.url}/embed.js" async></script>
    </body></html>`;
    otherPages['/'] = `<!doctype html><title>Not allowed</title><iframe id="frame" src="${t.url}/embed/score/x:embedded" width="320" height="140"></iframe>`;
    browser = await launchChromium();
    await postEvents(t.url, [
      { id: 'embp', network: 'x', type: 'profile', actor: 'embedded', name: '<img src=x onerror=alert(1)>', followers: 1000, ts: Date.now() - 2000 },
      ...Array.from({ length: 3 }, () => reply('embedded')),
    ]);
    await until(async () => (await fetch(`${t.url}/api/entities/x:embedded`)).status === 200);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await allowed?.close();
    await other?.close();
  });

  it('custom elements and an iframe widget on another origin render and update live', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const errors = watchErrors(page);
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(decodeURIComponent(ws.url())));
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto(`${allowed.url}/`);
    const badge = page.locator('#badge');
    await page.waitForFunction(() => document.querySelector('#badge')?.getAttribute('data-state') === 'live', undefined, { timeout: 15_000 });
    const shadowText = (sel: string, part: string) => page.evaluate(([s, p]) => document.querySelector(s!)?.shadowRoot?.querySelector(`[part="${p}"]`)?.textContent ?? null, [sel, part]);
    const before = await (await fetch(`${t.url}/api/entities/x:embedded`)).json();
    await until(async () => (await shadowText('#badge', 'score'))?.includes(before.score.toFixed(1)));
    expect(await shadowText('#badge', 'name')).toBe('<img src=x onerror=alert(1)>');
    await page.waitForFunction(() => (document.querySelector('#board')?.shadowRoot?.querySelectorAll('[part="row"]').length ?? 0) > 0, undefined, { timeout: 15_000 });
    // The board watches its own top 3, not the channel's 100 rows.
    expect(sockets.filter((u) => u.includes('channel=leaderboard:'))).toEqual([expect.stringMatching(/channel=leaderboard:global:top3$/)]);

    const frame = await until(() => page.frames().find((f: Frame) => f.url().includes('/embed/score/')));
    await frame.getByTestId('embed-score').waitFor();
    expect(await frame.getByTestId('embed-name').textContent()).toBe('<img src=x onerror=alert(1)>');

    await postEvents(t.url, Array.from({ length: 30 }, () => reply('embedded')));
    const after = await until(async () => {
      const e = await (await fetch(`${t.url}/api/entities/x:embedded`)).json();
      return e.score > before.score ? e : undefined;
    });
    await until(async () => (await shadowText('#badge', 'score'))?.includes(after.score.toFixed(1)), 10_000, 'custom element updated');
    await until(async () => (await frame.getByTestId('embed-score').textContent())?.includes(after.score.toFixed(1)), 10_000, 'iframe updated');
    await until(async () => (await badge.getAttribute('data-seq')) !== '0', 5000);
    await screenshot(page, 'embed');
    expect(dialogs).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an origin not in EMBED_ORIGINS cannot frame the widget', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${other.url}/`);
    await until(() => errors.some((e) => /frame-ancestors|Refused to (display|frame)/i.test(e)) || undefined, 10_000, 'the browser to refuse the frame');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(await frame?.locator('[data-testid="embed-score"]').count()).toBe(0);
    await screenshot(page, 'embed-refused');
    await page.close();
  });
});
