/**
 * Valid events of every type whose text and numbers sit at the edges of what
 * schema v1 allows (separators the stored layouts use, Lua pattern
 * characters, quotes, control characters, characters beyond the BMP, the
 * longest strings, the largest numbers, the oldest times), generated with a
 * fixed seed and sent through the real app: each accepted event is scored,
 * the scorer never stops, and every score it reads back is a number in
 * [1, 100]. (Two such inputs once stopped scoring for good: a post named
 * `__proto__`, and half of a surrogate pair.)
 */
import fc from 'fast-check';
import { io as connect } from 'socket.io-client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../shared/event.js';
import type { SubscribeAck } from '../../shared/live.js';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';

const ODD = ['|', ',', ':', ';', '%', '%d', '.-', '(.-)', '[', ']', '^', '$', '*', '"', "'", '\\', '\\u0041', '\n', '\t', '\u0000', ' ', '-', 'T|x:a|1', 'p|a|b', 'k|1|ai|b', 'e|ai|b', 'h|ai', 'd|', 't:ai', '{}', '[]', 'null', 'nan', 'inf', '-inf', '1e999', '0x10', '__proto__', 'constructor', 'toString', '😀', '𝔘', 'zoë', 'مرحبا', '\u202e'];

const text = (max: number) =>
  fc.oneof(
    fc.constantFrom(...ODD),
    fc.array(fc.constantFrom(...ODD, 'a', 'b'), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('').slice(0, max) || 'a'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
    fc.constant('h'.repeat(max)),
  );

describe('odd but valid input', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('every accepted event is scored and every score read back is in [1, 100]', async () => {
    const now = Date.now();
    // A few handles and posts, so that events meet on the same accounts and posts.
    const handles = [
      ...new Set([
        '|', 'T|x:a|1', 'p|a|b', 'k|1|ai|b', '%d.-(', 'a"b\\c\'', 'new\nline', 'nul\u0000', '__proto__', 'x:y', '-', ' ',
        'h'.repeat(100), '😀'.repeat(50), 'zoë', ...fc.sample(text(100), { seed: 7, numRuns: 6 }),
      ]),
    ];
    const posts = [...new Set(['-', '|', 'p|x', ',', 'a,b|c', 'p'.repeat(200), '__proto__', '😀', ...fc.sample(text(200), { seed: 8, numRuns: 4 })])];
    const event = fc.record({
      type: fc.constantFrom(...EVENT_TYPES),
      actor: fc.constantFrom(...handles),
      target: fc.constantFrom(...handles),
      post: fc.constantFrom(...posts),
      topics: fc.array(fc.oneof(fc.constantFrom('ai', 'Music', '#AI', 'ünï', 'a-b'), text(100)), { minLength: 1, maxLength: 3 }),
      name: text(200),
      followers: fc.constantFrom(0, 1, 150, 2 ** 31, Number.MAX_SAFE_INTEGER, 1e300),
      value: fc.constantFrom(0, 0.01, 49.5, 1e9, Number.MAX_VALUE),
      ts: fc.constantFrom(0, 1, Date.UTC(2001, 0, 1), now - 400 * 86_400_000, now - 86_400_000, now - 1000, now + 4 * 60_000),
    });
    const raw = fc.sample(event, { seed: 9, numRuns: 600 });
    const events = raw.map((r, i) => {
      const e: Record<string, unknown> = { id: `odd${i}${handles[i % handles.length]}`.slice(0, 200), network: 'x', type: r.type, actor: r.actor, ts: r.ts };
      if (r.type !== 'profile' && r.type !== 'post') e.target = r.target;
      if (['post', 'reply', 'share', 'like', 'click', 'conversion'].includes(r.type)) e.post = r.post;
      if (r.type === 'post' || r.type === 'reply') e.topics = r.topics;
      if (r.type === 'endorse') e.topics = r.topics.slice(0, 1);
      if (r.type === 'profile') Object.assign(e, { name: r.name, followers: r.followers });
      if (r.type === 'conversion') e.value = r.value;
      return e;
    });
    const res = await postEvents(t.url, events);
    expect(res.status).toBe(202);
    // Only topics with nothing to make a slug of are refused.
    for (const r of res.body.rejected) expect(r.message, JSON.stringify(events[r.index])).toMatch(/no letters or digits/);
    const accepted = res.body.accepted as number;
    expect(accepted + res.body.duplicates + res.body.rejected.length).toBe(events.length);
    expect(accepted).toBeGreaterThan(500);

    const stats = t.app.pipeline!.stats;
    await until(() => (stats.eventsScored >= accepted ? true : undefined), 20_000, `${accepted} events scored (last error: ${stats.lastError})`);
    expect(stats.lastError).toBeNull();
    expect(stats.running).toBe(true);

    const board = await (await fetch(`${t.url}/api/leaderboard?limit=500`)).json();
    expect(board.entries.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const e of board.entries as { id: string; score: number }[]) {
      expect(e.score, e.id).toBeGreaterThanOrEqual(1);
      expect(e.score, e.id).toBeLessThanOrEqual(100);
      seen.add(e.id);
    }
    for (const h of handles) {
      const id = `x:${h}`;
      if (!seen.has(id)) continue;
      const r = await fetch(`${t.url}/api/entities/${encodeURIComponent(id)}`);
      expect(r.status, id).toBe(200);
      const body = await r.json();
      expect(body.id).toBe(id);
      expect(body.score).toBeGreaterThanOrEqual(1);
      expect(body.score).toBeLessThanOrEqual(100);
      for (const [k, v] of Object.entries(body.components as Record<string, number>)) {
        expect(Number.isFinite(v), `${id} ${k}`).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(100);
      }
      for (const topic of body.topics as { score: number }[]) expect(topic.score).toBeGreaterThanOrEqual(1);
      const ex = await fetch(`${t.url}/api/entities/${encodeURIComponent(id)}/explain`);
      expect(ex.status, id).toBe(200);
      const hist = await fetch(`${t.url}/api/entities/${encodeURIComponent(id)}/history?range=30d`);
      expect(hist.status, id).toBe(200);
    }
    expect(seen.size).toBeGreaterThan(5);

    // Each can be watched live too, over socket.io and the plain WebSocket, with its state as the snapshot.
    const s = connect(`${t.url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      for (const h of handles) {
        const id = `x:${h}`;
        if (!seen.has(id)) continue;
        const ack = await new Promise<SubscribeAck>((ok) => s.emit('subscribe', `entity:${id}`, ok));
        expect(ack, id).toMatchObject({ ok: true, snapshot: { id } });
        const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws/live?channel=${encodeURIComponent(`entity:${id}`)}`);
        const first = await new Promise<{ type: string; data: { id: string } }>((ok, fail) => {
          ws.once('message', (m) => ok(JSON.parse(String(m))));
          ws.once('error', fail);
        });
        ws.close();
        expect(first, id).toMatchObject({ type: 'snapshot', data: { id } });
      }
    } finally {
      s.disconnect();
    }

    // An entity claims three of them (the API runs open on loopback in tests): it scores at least its best account, and
    // disconnecting one gives that account its own score back.
    const claimed = handles.filter((h) => seen.has(`x:${h}`)).slice(0, 3).concat('new\nline').map((h) => `x:${h}`);
    const scoreOf = async (id: string) => ((await (await fetch(`${t.url}/api/entities/${encodeURIComponent(id)}`)).json()) as { score: number }).score;
    const alone = await Promise.all(claimed.map(scoreOf));
    const put = await fetch(`${t.url}/api/entities/odd-brand`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Odd | "brand"', kind: 'brand', accounts: claimed }) });
    expect(put.status, await put.clone().text()).toBeLessThan(300);
    expect((await (await fetch(`${t.url}/api/entities/odd-brand`)).json()).accounts.sort()).toEqual([...claimed].sort());
    expect(await scoreOf('odd-brand')).toBeGreaterThanOrEqual(Math.max(...alone));
    const off = await fetch(`${t.url}/api/entities/odd-brand/accounts/${encodeURIComponent(claimed[3]!)}`, { method: 'DELETE' });
    expect(off.status).toBe(200);
    expect(await scoreOf(claimed[3]!)).toBe(alone[3]);
  });
});
