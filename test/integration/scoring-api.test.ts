/** The main scoring properties through the HTTP API against real Redis, and the Lua apply against its pure mirror. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeKeys } from '../../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { Simulator } from '../../server/ingest/demo.js';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { MemoryState } from '../../server/score/fold.js';
import { modelParams } from '../../server/score/model.js';
import { parseAccount } from '../../server/score/score.js';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';

const DAY = 86_400_000;
const T = Date.now() - 3 * DAY;
let n = 0;
const ev = (type: string, actor: string, target?: string, extra: object = {}) => ({ id: `s${n++}`, network: 'x', type, actor, ...(target ? { target } : {}), ts: T, ...extra });
/** Equal up to float summation order. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const get = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
};
/** Waits until the pipeline has scored everything appended so far. */
const drained = (t: TestApp) => until(() => (t.app.ingest!.stats.accepted === t.app.pipeline!.stats.eventsScored ? true : undefined), 20_000, 'pipeline drained');

describe('scoring through the API', () => {
  let t: TestApp;
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
    t = await startApp({ adminKey: 'adm' });
  });
  const post = async (body: unknown) => {
    const r = await postEvents(t.url, body, { authorization: 'Bearer adm' });
    expect(r.status).toBe(202);
    expect(r.body.rejected).toEqual([]);
    return r;
  };
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  it('the Lua apply reaches the state of its pure mirror', async () => {
    const u = await startApp();
    try {
      const sim = new Simulator({ seed: 3, accounts: 60 });
      const events = [...sim.profiles(T - DAY), ...sim.history(3000, T - 2 * DAY, T)];
      for (let i = 0; i < events.length; i += 700) await postEvents(u.url, events.slice(i, i + 700));
      await drained(u);
      const keys = makeKeys(u.prefix);
      // The events as the stream holds them, with the actor weight stamped at ingest.
      const entries = await redis.xRange(keys.stream, '-', '+');
      const stamped = (entries ?? []).map((e) => ({ ...(JSON.parse(e.message.e!) as StreamEvent), q: Number(e.message.q) }));
      const mirror = new MemoryState();
      mirror.apply(aggregate(stamped, modelParams(30)).values());
      expect(mirror.accounts.size).toBeGreaterThan(50);
      for (const id of mirror.accounts.keys()) {
        const want = mirror.snapshot(id);
        const got = parseAccount(id, await redis.hGetAll(keys.account(id)));
        expect({ ...got, E: 0, A: 0, O: 0, K: 0, D: 0, topics: {} }).toEqual({ ...want, E: 0, A: 0, O: 0, K: 0, D: 0, topics: {} });
        for (const f of ['E', 'A', 'O', 'K'] as const) expect(close(got[f], want[f]), `${id} ${f}`).toBe(true);
        // Distinct engagers: HyperLogLog in Redis, exact in the mirror.
        expect(Math.abs(got.D - want.D)).toBeLessThanOrEqual(Math.max(1, want.D * 0.02));
        expect(Object.keys(got.topics).sort()).toEqual(Object.keys(want.topics).sort());
        for (const [topic, w] of Object.entries(want.topics)) {
          const g = got.topics[topic]!;
          expect([g.posts, g.days, g.endorsers]).toEqual([w.posts, w.days, w.endorsers]);
          expect(close(g.value, w.value), `${id} ${topic}`).toBe(true);
          expect(Math.abs(g.engagers - w.engagers)).toBeLessThanOrEqual(Math.max(1, w.engagers * 0.02));
        }
      }
    } finally {
      await u.close();
    }
  });

  it('property 2: the publisher outscores the celebrity', async () => {
    await post([
      ev('profile', 'celeb', undefined, { followers: 10_000_000 }),
      ...Array.from({ length: 20 }, (_, i) => ev('post', 'celeb', undefined, { post: `c${i}` })),
      ...Array.from({ length: 60 }, (_, i) => ev('like', `fan${i}`, 'celeb', { post: `c${i % 20}` })),
      ev('profile', 'pub', undefined, { followers: 200_000 }),
      ...Array.from({ length: 20 }, (_, i) => ev('post', 'pub', undefined, { post: `p${i}` })),
      ...Array.from({ length: 120 }, (_, i) => ev('reply', `reader${i}`, 'pub', { post: `p${i % 20}` })),
      ...Array.from({ length: 80 }, (_, i) => ev('share', `sharer${i}`, 'pub', { post: `p${i % 20}` })),
      ...Array.from({ length: 200 }, (_, i) => ev('click', `visitor${i}`, 'pub', { post: `p${i % 20}` })),
    ]);
    await drained(t);
    const celeb = (await get(`${t.url}/api/entities/x:celeb`)).body;
    const pub = (await get(`${t.url}/api/entities/x:pub`)).body;
    expect(celeb.components.reach).toBeGreaterThan(pub.components.reach);
    expect(pub.score).toBeGreaterThan(celeb.score + 10);
    expect(pub.rank).toBeLessThan(celeb.rank);
  });

  it('property 5: 1,000 likes from 10 accounts count far less than from 1,000', async () => {
    await post([
      ...Array.from({ length: 1000 }, (_, i) => ev('like', `few${i % 10}`, 'narrow', { post: `n${i % 50}` })),
      ...Array.from({ length: 1000 }, (_, i) => ev('like', `many${i}`, 'broad', { post: `b${i % 50}` })),
    ]);
    await drained(t);
    const narrow = (await get(`${t.url}/api/entities/x:narrow`)).body;
    const broad = (await get(`${t.url}/api/entities/x:broad`)).body;
    expect(broad.components.engagement - narrow.components.engagement).toBeGreaterThan(15);
    expect(broad.score).toBeGreaterThan(narrow.score);
  });

  it('property 7: topics appear only with evidence, with their own score, leaderboard and count', async () => {
    await post([
      ev('post', 'stray', undefined, { post: 'st', topics: ['#Knitting'] }),
      ...Array.from({ length: 50 }, (_, i) => ev('like', `k${i}`, 'stray', { post: 'st' })),
      ev('post', 'expert', undefined, { post: 'e1', topics: ['knitting'], ts: T - DAY }),
      ev('post', 'expert', undefined, { post: 'e2', topics: ['Knitting'] }),
      ...['a', 'b', 'c'].map((u) => ev('reply', u, 'expert', { post: 'e2' })),
    ]);
    await drained(t);
    expect((await get(`${t.url}/api/entities/x:stray`)).body.topics).toEqual([]);
    const expert = (await get(`${t.url}/api/entities/x:expert`)).body;
    expect(expert.topics).toEqual([{ topic: 'knitting', score: expect.any(Number), evidence: { posts: 2, days: 2, engagers: 3, endorsements: 0 } }]);
    const board = (await get(`${t.url}/api/leaderboard?scope=topic:knitting`)).body;
    expect(board.entries.map((e: { id: string }) => e.id)).toEqual(['x:expert']);
    expect(board.entries[0].score).toBe(expert.topics[0].score);
    const topics = (await get(`${t.url}/api/topics`)).body.topics;
    expect(topics).toContainEqual({ topic: 'knitting', entities: 1 });
    // Topics are listed from the set of scopes WRITE keeps; a store written before it existed is read once by SCAN.
    const keys = makeKeys(t.prefix);
    expect(await redis.sIsMember(keys.scopes, 'topic:knitting')).toBe(1);
    await redis.del(keys.scopes);
    expect((await get(`${t.url}/api/topics`)).body.topics).toEqual(topics);
    expect(await redis.sIsMember(keys.scopes, 'topic:knitting')).toBe(1);
  });

  it('property 12: entities combine accounts, claim each once, and give an account its own score back', async () => {
    await post([
      ...Array.from({ length: 30 }, (_, i) => ev('reply', `r${i}`, 'wired', { post: `w${i % 5}` })),
      ...Array.from({ length: 20 }, (_, i) => ev('share', `s${i}`, 'wired_ig', { network: 'instagram', post: `i${i % 5}` })),
    ].map((e) => (e.actor.startsWith('s') ? { ...e, network: 'instagram', actor: e.actor } : e)));
    await drained(t);
    const alone = (await get(`${t.url}/api/entities/x:wired`)).body.score;
    const igAlone = (await get(`${t.url}/api/entities/instagram:wired_ig`)).body.score;
    const admin = { authorization: 'Bearer adm', 'content-type': 'application/json' };

    const denied = await fetch(`${t.url}/api/entities/wired`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'WIRED', kind: 'brand' }) });
    expect(denied.status).toBe(401);
    const bad = await fetch(`${t.url}/api/entities/wired`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'WIRED', kind: 'company' }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/kind/) });

    const put = await fetch(`${t.url}/api/entities/wired`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'WIRED', kind: 'brand', accounts: ['x:wired'] }) });
    expect(put.status).toBe(201);
    const connect = await fetch(`${t.url}/api/entities/wired/accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ account: 'instagram:wired_ig' }) });
    expect(connect.status).toBe(200);
    const e = (await connect.json()).entity;
    expect(e).toMatchObject({ id: 'wired', name: 'WIRED', kind: 'brand', accounts: ['instagram:wired_ig', 'x:wired'] });
    expect(e.score).toBeGreaterThanOrEqual(Math.max(alone, igAlone));

    // At once: the accounts left the leaderboards, the entity is on global, kind and both networks.
    const ids = async (scope: string) => (await get(`${t.url}/api/leaderboard?scope=${scope}&limit=500`)).body.entries.map((x: { id: string }) => x.id);
    expect(await ids('global')).not.toContain('x:wired');
    expect(await ids('global')).toContain('wired');
    expect(await ids('kind:brand')).toEqual(['wired']);
    expect(await ids('network:instagram')).toContain('wired');
    expect(await ids('network:instagram')).not.toContain('instagram:wired_ig');
    expect((await get(`${t.url}/api/entities/x:wired`)).body).toMatchObject({ error: { code: 'entity_not_found', details: { entity: 'wired' } } });

    // An account belongs to at most one entity.
    await fetch(`${t.url}/api/entities/other`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'Other', kind: 'person' }) });
    const clash = await fetch(`${t.url}/api/entities/other/accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ account: 'x:wired' }) });
    expect(clash.status).toBe(409);
    expect((await clash.json()).error.code).toBe('account_claimed');

    // Disconnecting gives the account its own score back, with no history lost.
    const del = await fetch(`${t.url}/api/entities/wired/accounts/instagram:wired_ig`, { method: 'DELETE', headers: { authorization: 'Bearer adm' } });
    expect(del.status).toBe(200);
    expect((await del.json()).entity.accounts).toEqual(['x:wired']);
    expect((await get(`${t.url}/api/entities/instagram:wired_ig`)).body.score).toBe(igAlone);
    expect(await ids('network:instagram')).toContain('instagram:wired_ig');
    expect((await fetch(`${t.url}/api/entities/wired/accounts/instagram:wired_ig`, { method: 'DELETE', headers: { authorization: 'Bearer adm' } })).status).toBe(404);
    expect((await fetch(`${t.url}/api/entities/nobody/accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ account: 'x:a' }) })).status).toBe(404);
  });

  it('property 13: leaderboards agree with the entity endpoint in every scope', async () => {
    for (const scope of ['global', 'network:x', 'kind:person', 'kind:brand', 'topic:knitting']) {
      const board = (await get(`${t.url}/api/leaderboard?scope=${scope}&limit=50`)).body;
      expect(board.entries.length).toBeGreaterThan(0);
      for (const entry of board.entries) {
        const e = (await get(`${t.url}/api/entities/${encodeURIComponent(entry.id)}`)).body;
        const expected = scope.startsWith('topic:') ? e.topics.find((x: { topic: string }) => x.topic === scope.slice(6)).score : e.score;
        expect(entry.score, `${scope} ${entry.id}`).toBe(expected);
        if (scope === 'global') expect(entry.rank).toBe(e.rank);
      }
    }
  });

  it('explain names components with weights, and the top accounts, posts and engagers', async () => {
    const x = (await get(`${t.url}/api/entities/x:pub/explain`)).body;
    expect(x.components.map((c: { name: string }) => c.name)).toEqual(['reach', 'engagement', 'amplification', 'outcomes', 'endorsements']);
    expect(x.components.reduce((s: number, c: { weight: number }) => s + c.weight, 0)).toBeCloseTo(1, 9);
    const entity = (await get(`${t.url}/api/entities/x:pub`)).body;
    expect(x.score).toBe(entity.score);
    expect(x.accounts).toEqual([{ id: 'x:pub', score: entity.score, share: 100 }]);
    expect(x.posts).toHaveLength(5);
    expect(x.posts[0].value).toBeGreaterThanOrEqual(x.posts[4].value);
    expect(x.engagers).toHaveLength(5);
    expect(x.engagers[0].engager).toMatch(/^x:(reader|sharer|visitor)\d+$/);
    expect((await get(`${t.url}/api/entities/x:nobody/explain`)).status).toBe(404);
  });

  it('history returns bounded buckets for each range, and 400 for another', async () => {
    for (const range of ['1h', '24h', '7d', '30d']) {
      const h = (await get(`${t.url}/api/entities/x:pub/history?range=${range}`)).body;
      expect(h.points.length).toBeGreaterThan(0);
      expect(h.points.at(-1).score).toBe((await get(`${t.url}/api/entities/x:pub`)).body.score);
    }
    expect((await get(`${t.url}/api/entities/x:pub/history?range=1y`)).status).toBe(400);
  });

  it('property 9: an idle entity’s score falls as event time moves on', async () => {
    const u = await startApp();
    try {
      await postEvents(u.url, [...Array.from({ length: 40 }, (_, i) => ev('reply', `z${i}`, 'idle', { post: 'i1', ts: T - 2 * DAY }))]);
      await drained(u);
      const before = (await get(`${u.url}/api/entities/x:idle`)).body.score;
      // Someone else is active 60 days later: the clock moves, and the decay sweep re-scores the idle one.
      await postEvents(u.url, [ev('like', 'someone', 'busy', { ts: Date.now() - 1000 })].map((e) => ({ ...e, ts: Date.now() })));
      const after = await until(async () => {
        const s = (await get(`${u.url}/api/entities/x:idle`)).body.score;
        return s < before ? s : undefined;
      }, 15_000, 'idle score to fall');
      expect(after).toBeLessThan(before);
    } finally {
      await u.close();
    }
  });
});
