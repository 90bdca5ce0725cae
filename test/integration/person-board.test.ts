/** The person leaderboard, read from global without the brands (server/score/boards.ts), against a real Redis and the real app. */
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SubscribeAck } from '../../shared/live.js';
import { makeKeys } from '../../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { personBoard } from '../../server/score/boards.js';
import { postEvents, startApp, testPrefix, until } from '../helpers/app.js';
import { drained } from '../helpers/state.js';

describe('the person leaderboard', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
  });
  afterAll(async () => {
    await redis.close();
  });

  it('is every page of global without the brands, ties ordered as Redis orders them', async () => {
    const keys = makeKeys(testPrefix());
    // 60 entities on 12 distinct scores (ties everywhere); brands at the top, in runs, alone and at the bottom.
    const all = Array.from({ length: 60 }, (_, i) => ({ value: `${i % 3 ? 'x' : 'bsky'}:e${String(i).padStart(2, '0')}`, score: 50 - Math.floor(i / 5) }));
    const brands = new Set(['x:e01', 'x:e02', 'bsky:e03', 'x:e04', 'x:e05', 'x:e22', 'x:e23', 'x:e31', 'x:e59', 'bsky:e57', 'x:e58']);
    await redis.zAdd(keys.leaderboard('global'), all);
    await redis.zAdd(
      keys.leaderboard('kind:brand'),
      all.filter((m) => brands.has(m.value)),
    );
    const global = await redis.zRangeWithScores(keys.leaderboard('global'), 0, -1, { REV: true });
    const people = global.filter((m) => !brands.has(m.value));
    expect(people.length).toBe(global.length - brands.size);
    for (const limit of [0, 1, 3, 7, 20, 500]) {
      for (let offset = 0; offset <= people.length + 2; offset++) {
        const page = await personBoard(redis, keys, offset, limit);
        expect(page.total).toBe(people.length);
        expect(page.members, `offset ${offset}, limit ${limit}`).toEqual(people.slice(offset, offset + limit));
      }
    }
    // No brands at all, and no board at all.
    const plain = makeKeys(testPrefix());
    await redis.zAdd(plain.leaderboard('global'), all.slice(0, 9));
    expect((await personBoard(redis, plain, 2, 3)).members).toEqual((await redis.zRangeWithScores(plain.leaderboard('global'), 0, -1, { REV: true })).slice(2, 5));
    expect(await personBoard(redis, makeKeys(testPrefix()), 0, 10)).toEqual({ members: [], total: 0 });
  });

  it('counts from the top when a brand is missing from global', async () => {
    const keys = makeKeys(testPrefix());
    await redis.zAdd(keys.leaderboard('global'), [
      { value: 'a', score: 9 },
      { value: 'b', score: 8 },
      { value: 'c', score: 7 },
      { value: 'd', score: 6 },
    ]);
    await redis.zAdd(keys.leaderboard('kind:brand'), [
      { value: 'b', score: 8 },
      { value: 'gone', score: 7.5 },
    ]);
    expect((await personBoard(redis, keys, 1, 5)).members.map((m) => m.value)).toEqual(['c', 'd']);
  });

  it('serves the API and the live channel from global and the brands, and an earlier version’s stored board is dropped', async () => {
    const prefix = testPrefix();
    const keys = makeKeys(prefix);
    // A store left by 0.8: its leftovers of 0.5 already gone, its person board stored.
    await redis.hSet(keys.meta, 'legacy', '0.6');
    await redis.zAdd(keys.leaderboard('kind:person'), { score: 99, value: 'x:stale' });
    const t = await startApp({ keyPrefix: prefix, adminKey: 'adm' });
    try {
      await until(async () => (await redis.hGet(keys.meta, 'legacy')) === '0.9');
      expect(await redis.exists(keys.leaderboard('kind:person'))).toBe(0);
      const ts = Date.now() - 60_000;
      // Pairs of accounts with the same activity (tied scores), two of them claimed by a brand and one by a person entity.
      const events = Array.from({ length: 24 }, (_, i) => [
        { id: `p${i}`, network: 'x', type: 'post', actor: `u${i}`, post: `m${i}`, ts },
        ...Array.from({ length: 1 + (i >> 1) }, (_, k) => ({ id: `l${i}-${k}`, network: 'x', type: 'like', actor: `fan${k}`, target: `u${i}`, post: `m${i}`, ts })),
      ]).flat();
      await postEvents(t.url, events);
      const admin = { authorization: 'Bearer adm', 'content-type': 'application/json' };
      for (const [id, kind, accounts] of [
        ['acme', 'brand', ['x:u5', 'x:u11']],
        ['zeta', 'brand', ['x:u20']],
        ['ann', 'person', ['x:u7']],
      ] as const) {
        const r = await fetch(`${t.url}/api/entities/${id}`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: id, kind, accounts }) });
        expect(r.status).toBe(201);
      }
      await drained(t);
      const board = async (scope: string, limit: number, offset = 0) => (await (await fetch(`${t.url}/api/leaderboard?scope=${scope}&limit=${limit}&offset=${offset}`)).json()) as { total: number; entries: { id: string; rank: number; kind: string; score: number }[] };
      const global = await board('global', 500);
      const brandIds = (await board('kind:brand', 500)).entries.map((e) => e.id);
      expect(brandIds.sort()).toEqual(['acme', 'zeta']);
      const people = global.entries.filter((e) => !brandIds.includes(e.id));
      expect(people.map((e) => e.id)).toContain('ann');
      for (const [limit, offset] of [
        [500, 0],
        [5, 0],
        [5, 3],
        [4, 19],
      ] as const) {
        const got = await board('kind:person', limit, offset);
        expect(got.total).toBe(people.length);
        expect(got.entries.map((e) => [e.id, e.score, e.kind, e.rank])).toEqual(people.slice(offset, offset + limit).map((e, i) => [e.id, e.score, 'person', offset + i + 1]));
      }
      expect(await redis.exists(keys.leaderboard('kind:person'))).toBe(0);
      // The live channel's snapshot is the same board.
      const s = connect(`${t.url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        const ack = await new Promise<SubscribeAck>((ok) => s.emit('subscribe', 'leaderboard:kind:person:top10', ok));
        expect(ack.ok).toBe(true);
        const snap = (ack as { snapshot: { total: number; entries: { id: string }[] } }).snapshot;
        expect(snap.total).toBe(people.length);
        expect(snap.entries.map((e) => e.id)).toEqual(people.slice(0, 10).map((e) => e.id));
      } finally {
        s.close();
      }
      // A brand that becomes a person joins the person board at once.
      const r = await fetch(`${t.url}/api/entities/zeta`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'zeta', kind: 'person' }) });
      expect(r.status).toBe(200);
      expect((await board('kind:person', 500)).entries.map((e) => e.id)).toContain('zeta');
      expect((await board('kind:brand', 500)).entries.map((e) => e.id)).toEqual(['acme']);
    } finally {
      await t.close();
    }
  });
});
