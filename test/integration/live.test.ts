/** Live updates over socket.io (/live) and the plain WebSocket (/ws/live), both on Fastify's port at once. */
import { io as connect, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, LiveFrame, ServerToClientEvents, SubscribeAck, UpdateMessage } from '../../shared/live.js';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
let n = 0;
const like = (target: string, actor = `fan${n}`) => ({ id: `l${n++}`, network: 'x', type: 'like', actor, target, ts: Date.now() - 1000 });

function socketClient(url: string): Promise<Client> {
  const s: Client = connect(`${url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((ok, fail) => {
    s.once('connect', () => ok(s));
    s.once('connect_error', fail);
  });
}

function subscribe(s: Client, channel: string): Promise<SubscribeAck> {
  return new Promise((ok) => s.emit('subscribe', channel, ok));
}

/** A plain WebSocket client that records its frames. */
function wsClient(url: string, channel: string): Promise<{ ws: WebSocket; frames: LiveFrame[] }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/live?channel=${encodeURIComponent(channel)}`);
  const frames: LiveFrame[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d)) as LiveFrame));
  return new Promise((ok, fail) => {
    ws.once('open', () => ok({ ws, frames }));
    ws.once('error', fail);
  });
}

describe('live channels', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('a socket.io client and a plain WebSocket, open at the same time, both get snapshots and then updates', async () => {
    await postEvents(t.url, [like('alpha')]);
    await until(async () => (await fetch(`${t.url}/api/entities/x:alpha`)).status === 200);

    const s = await socketClient(t.url);
    const updates: UpdateMessage[] = [];
    s.on('update', (m) => updates.push(m));
    const ack = await subscribe(s, 'entity:x:alpha');
    expect(ack).toMatchObject({ ok: true, seq: 0, snapshot: { id: 'x:alpha' } });
    const lbAck = await subscribe(s, 'leaderboard:global');
    expect(lbAck).toMatchObject({ ok: true, snapshot: { scope: 'global', entries: expect.arrayContaining([expect.objectContaining({ id: 'x:alpha' })]) } });

    const w = await wsClient(t.url, 'entity:x:alpha');
    await until(() => w.frames.length > 0);
    expect(w.frames[0]).toMatchObject({ type: 'snapshot', channel: 'entity:x:alpha', seq: 0, data: { id: 'x:alpha' } });
    const before = (ack as { snapshot: { score: number } }).snapshot.score;

    await postEvents(t.url, Array.from({ length: 20 }, () => like('alpha')));
    const sUpdate = await until(() => updates.find((u) => u.channel === 'entity:x:alpha' && (u.data as { score: number }).score > before));
    const wUpdate = await until(() => w.frames.find((f) => f.type === 'update' && (f.data as { score: number }).score > before));
    expect(sUpdate.seq).toBeGreaterThanOrEqual(1);
    expect(wUpdate).toMatchObject({ type: 'update', channel: 'entity:x:alpha', data: { id: 'x:alpha' } });
    await until(() => updates.find((u) => u.channel === 'leaderboard:global'));

    // Seqs grow by one per channel.
    const entitySeqs = updates.filter((u) => u.channel === 'entity:x:alpha').map((u) => u.seq);
    expect(entitySeqs).toEqual(entitySeqs.map((_, i) => entitySeqs[0]! + i));
    s.disconnect();
    w.ws.close();
  });

  it('a leaderboard of another scope gets updates too', async () => {
    const w = await wsClient(t.url, 'leaderboard:network:bluesky');
    await until(() => w.frames.length > 0);
    expect(w.frames[0]).toMatchObject({ type: 'snapshot', data: { scope: 'network:bluesky', entries: [] } });
    await postEvents(t.url, [{ ...like('sky'), network: 'bluesky' }]);
    const update = await until(() => w.frames.find((f) => f.type === 'update'));
    expect(update).toMatchObject({ channel: 'leaderboard:network:bluesky', seq: 1, data: { entries: expect.arrayContaining([expect.objectContaining({ id: 'bluesky:sky' })]) } });
    w.ws.close();
  });

  it('the ticker carries every score change, coalesced', async () => {
    const s = await socketClient(t.url);
    const updates: UpdateMessage[] = [];
    s.on('update', (m) => updates.push(m));
    expect(await subscribe(s, 'ticker')).toMatchObject({ ok: true, snapshot: { items: expect.any(Array) } });
    await postEvents(t.url, [like('tick1'), like('tick2')]);
    const seen = new Set<string>();
    await until(() => {
      for (const u of updates) for (const item of (u.data as { items: { id: string }[] }).items) seen.add(item.id);
      return seen.has('x:tick1') && seen.has('x:tick2') ? true : undefined;
    });
    const item = updates.flatMap((u) => (u.data as { items: { id: string }[] }).items).find((i) => i.id === 'x:tick1');
    expect(item).toEqual({ id: 'x:tick1', name: 'x:tick1', score: expect.any(Number), delta: expect.any(Number) });
    s.disconnect();
  });

  it('an unknown channel is refused in the ack and on the WebSocket', async () => {
    const s = await socketClient(t.url);
    expect(await subscribe(s, 'everything')).toEqual({ ok: false, error: { code: 'invalid_channel', message: expect.any(String) } });
    expect(await subscribe(s, 'leaderboard:nope')).toMatchObject({ ok: false, error: { code: 'invalid_channel' } });
    s.disconnect();
    const w = new WebSocket(`${t.url.replace('http', 'ws')}/ws/live?channel=bogus`);
    const frames: LiveFrame[] = [];
    w.on('message', (d) => frames.push(JSON.parse(String(d)) as LiveFrame));
    const code = await new Promise<number>((ok) => w.on('close', (c) => ok(c)));
    expect(code).toBe(1008);
    expect(frames).toEqual([{ type: 'error', error: { code: 'invalid_channel', message: expect.any(String) } }]);
  });

  it('a busy channel publishes at most 10 updates a second, and the last one carries the latest state', async () => {
    await postEvents(t.url, [like('busy')]);
    await until(async () => (await fetch(`${t.url}/api/entities/x:busy`)).status === 200);
    const s = await socketClient(t.url);
    const times: number[] = [];
    let last: UpdateMessage | undefined;
    s.on('update', (m) => {
      if (m.channel !== 'entity:x:busy') return;
      times.push(Date.now());
      last = m;
    });
    await subscribe(s, 'entity:x:busy');
    // 40 separate requests over ~1.2 s: far more changes than updates allowed.
    for (let i = 0; i < 40; i++) {
      await postEvents(t.url, [like('busy')]);
      await new Promise((r) => setTimeout(r, 30));
    }
    const final = await until(async () => {
      const e = await (await fetch(`${t.url}/api/entities/x:busy`)).json();
      return (last?.data as { score: number } | undefined)?.score === e.score && Number(e.updatedAt) !== 0 ? e : undefined;
    });
    expect((last!.data as { score: number }).score).toBe(final.score);
    // In any window of one second there are at most 10 updates (+1 for the leading edge).
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((x) => x >= times[i]! && x < times[i]! + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(11);
    }
    expect(times.length).toBeGreaterThan(3);
    s.disconnect();
  });

  it('a top-N board carries its N rows and is sent only when they move', async () => {
    const a = await startApp();
    try {
      const ts = () => Date.now() - 1000;
      let k = 0;
      const ev = (type: string, actor: string, target: string, extra: object = {}) => ({ id: `top-${k++}`, network: 'x', type, actor, target, post: `${target}-p`, ts: ts(), ...extra });
      // Three authors, far apart; their engagers exist before anything is watched, so no new account joins the boards later.
      const fans = Array.from({ length: 12 }, (_, i) => `tfan${i}`);
      await postEvents(a.url, [
        ...fans.flatMap((f) => [ev('reply', f, 'first'), ev('share', f, 'first'), ev('click', f, 'first')]),
        ...fans.slice(0, 6).flatMap((f) => [ev('reply', f, 'second'), ev('share', f, 'second')]),
        ev('like', 'tfan0', 'third'),
      ]);
      await until(async () => ((await (await fetch(`${a.url}/api/leaderboard?limit=3`)).json()) as { entries: { id: string }[] }).entries.some((e) => e.id === 'x:third'));
      const s = await socketClient(a.url);
      const updates: UpdateMessage<{ entries: { id: string; score: number }[] }>[] = [];
      s.on('update', (m) => updates.push(m as (typeof updates)[number]));
      const top = await subscribe(s, 'leaderboard:global:top2');
      expect(top).toMatchObject({ ok: true, snapshot: { scope: 'global', entries: [{ id: 'x:first' }, { id: 'x:second' }] } });
      expect((top as { snapshot: { entries: unknown[] } }).snapshot.entries).toHaveLength(2);
      await subscribe(s, 'leaderboard:global');

      // The third author moves, below the top 2: the full board is sent, the top 2 is not.
      await postEvents(a.url, [ev('conversion', 'tfan1', 'third', { value: 5 })]);
      await until(() => updates.find((u) => u.channel === 'leaderboard:global'), 10_000, 'the full board');
      await new Promise((r) => setTimeout(r, 400));
      expect(updates.filter((u) => u.channel === 'leaderboard:global:top2')).toEqual([]);

      // The second author moves: the top 2 is sent, with its two rows.
      await postEvents(a.url, fans.slice(6).flatMap((f) => [ev('reply', f, 'second'), ev('share', f, 'second')]));
      const u = await until(() => updates.find((m) => m.channel === 'leaderboard:global:top2'), 10_000, 'the top 2');
      expect(u.seq).toBe(1);
      expect(u.data.entries.map((e) => e.id)).toEqual(expect.arrayContaining(['x:first', 'x:second']));
      expect(u.data.entries).toHaveLength(2);
      s.disconnect();
    } finally {
      await a.close();
    }
  });

  it('an entity update is the state its score write stored: what the API then serves, for an account and a registered brand', async () => {
    const a = await startApp({ adminKey: 'adm' });
    try {
      let k = 0;
      const ev = (type: string, actor: string, extra: object = {}) => ({ id: `st-${k++}`, network: 'x', type, actor, ts: Date.now() - 1000, ...extra });
      // The admin key also ingests.
      const admin = { authorization: 'Bearer adm', 'content-type': 'application/json' };
      // A named account with a qualified topic (three endorsers), and a brand's two accounts, one of them named.
      const seed = await postEvents(a.url, [
        ev('profile', 'star', { name: 'Star ✦', followers: 1200 }),
        ev('post', 'star', { post: 'sp', topics: ['jazz'] }),
        ...['e1', 'e2', 'e3'].map((e) => ev('endorse', e, { target: 'star', topics: ['jazz'] })),
        ev('profile', 'acme_x', { name: 'ACME on X' }),
        ev('like', 'fan', { target: 'acme_x' }),
        ev('like', 'fan', { target: 'acme_y' }),
      ], admin);
      expect(seed.body).toMatchObject({ accepted: 8, rejected: [] });
      await until(async () => (await fetch(`${a.url}/api/entities/x:acme_y`)).status === 200);
      const put = await fetch(`${a.url}/api/entities/acme`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'ACME', kind: 'brand', accounts: ['x:acme_x', 'x:acme_y'] }) });
      expect(put.status).toBe(201);
      const entity = async (id: string) => (await fetch(`${a.url}/api/entities/${id}`)).json() as Promise<{ score: number; topics: unknown[] }>;
      await until(async () => (await entity('x:star')).topics.length > 0);

      const s = await socketClient(a.url);
      const last = new Map<string, UpdateMessage>();
      s.on('update', (m) => last.set(m.channel, m));
      const before = new Map<string, number>();
      for (const id of ['x:star', 'acme']) {
        const ack = (await subscribe(s, `entity:${id}`)) as { ok: boolean; snapshot: { score: number } };
        expect(ack.ok).toBe(true);
        before.set(id, ack.snapshot.score);
      }

      // Several writes' worth of activity on both, spread out; then, once nothing moves, the last update of each equals the API.
      for (let i = 0; i < 6; i++) {
        await postEvents(a.url, [
          ev('reply', `rf${i}`, { target: 'star', post: 'sp', topics: ['jazz'] }),
          ev('share', `sf${i}`, { target: 'star', post: 'sp' }),
          ev('conversion', `cf${i}`, { target: i % 2 ? 'acme_x' : 'acme_y', value: 20 }),
        ], admin);
        await new Promise((r) => setTimeout(r, 60));
      }
      for (const id of ['x:star', 'acme']) {
        const settled = await until(async () => {
          const e = await entity(id);
          const u = last.get(`entity:${id}`);
          return u && e.score > before.get(id)! && (u.data as { score: number }).score === e.score ? { e, u } : undefined;
        }, 10_000, `the last update of ${id} to carry the score the API serves`);
        expect(settled.u.data).toEqual(settled.e);
      }
      const star = last.get('entity:x:star')!.data as { name: string; rank: number; topics: { topic: string }[] };
      expect(star).toMatchObject({ name: 'Star ✦', rank: expect.any(Number), topics: [expect.objectContaining({ topic: 'jazz' })] });
      expect(last.get('entity:acme')!.data).toMatchObject({ name: 'ACME', kind: 'brand', accounts: ['x:acme_x', 'x:acme_y'] });
      s.disconnect();
    } finally {
      await a.close();
    }
  });
});
