/**
 * Distinct engagers (an account's, and per topic) are HyperLogLogs: fields
 * of the account's evidence hash while small, keys of their own once bigger
 * than HLL_FIELD_MAX. Counts are checked against Redis's own PFCOUNT of the
 * same members added to a plain key, which a HyperLogLog gives exactly
 * whatever the order or batching of the adds.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeKeys, type Keys } from '../../server/infra/keys.js';
import { connectRedis, listpackWarning, type RedisClient } from '../../server/infra/redis.js';
import { startRedisServer } from '../../server/infra/redis-server.js';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { modelParams } from '../../server/score/model.js';
import { HLL_FIELD_MAX } from '../../server/score/scripts.js';
import { createScoreStore } from '../../server/score/store.js';
import { testPrefix } from '../helpers/app.js';

const P = modelParams(30);
const T0 = Date.UTC(2026, 10, 1);
const post = (actor: string, id: string, topics: string[]): StreamEvent => ({ id: `post-${id}`, network: 'x', type: 'post', actor, post: id, topics, ts: T0 });
const reply = (k: number, actor: string, target: string, p: string): StreamEvent => ({ id: `r-${target}-${actor}-${k}`, network: 'x', type: 'reply', actor, target, post: p, ts: T0 + 1000 + k });

/** Applies batches of events in order, each its own watermark. */
function applier(redis: RedisClient, keys: Keys) {
  const store = createScoreStore(redis, keys, P);
  let wm = '';
  let n = 0;
  return async (events: StreamEvent[]) => {
    const next = `${++n}-0`;
    await store.apply(aggregate(events, P).values(), wm, next, T0 + 60_000);
    wm = next;
  };
}

/** PFCOUNT of the given members added to a fresh plain key. */
async function reference(redis: RedisClient, members: string[]): Promise<string> {
  const k = `ref:${Math.random().toString(36).slice(2)}`;
  await redis.pfAdd(k, members);
  const n = await redis.pfCount(k);
  await redis.del(k);
  return String(n);
}

const fans = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `fan${from + i}`);

describe('distinct engagers', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
  });
  afterAll(async () => {
    await redis.close();
  });

  it('are fields of the evidence hash while small and keys of their own once big, counted as PFCOUNT counts the same members', async () => {
    const keys = makeKeys(testPrefix());
    const apply = applier(redis, keys);
    const dy = keys.evidence('x:star');
    const te = `${keys.base}te:x:star:cats`;
    const hll = `${keys.base}hll:x:star`;
    const counts = () => redis.hmGet(keys.account('x:star'), ['te:cats', 'D']);
    let k = 0;
    const replies = (names: string[]) => names.map((who) => reply(k++, who, 'star', 'sp'));

    await apply([post('star', 'sp', ['cats']), ...replies(fans(0, 20))]);
    const small = await redis.hmGet(dy, ['h|cats', 'd|']);
    expect(small.every((v) => v !== null && v.length > 0 && v.length <= HLL_FIELD_MAX)).toBe(true);
    expect(await redis.exists([te, hll, `${keys.base}hll:~`])).toBe(0);
    const twenty = await reference(redis, fans(0, 20).map((f) => `x:${f}`));
    expect(twenty).toBe('20');
    expect(await counts()).toEqual([twenty, twenty]);

    // Repeat engagers move no register: the counts stay.
    await apply(replies(fans(0, 10)));
    expect(await counts()).toEqual([twenty, twenty]);

    // Past HLL_FIELD_MAX bytes each becomes a key of its own, and the field goes.
    await apply(replies(fans(20, 200)));
    await apply(replies(fans(200, 420)));
    expect(await redis.hmGet(dy, ['h|cats', 'd|'])).toEqual([null, null]);
    expect(await redis.strLen(te)).toBeGreaterThan(HLL_FIELD_MAX);
    expect(await redis.strLen(hll)).toBeGreaterThan(HLL_FIELD_MAX);
    const all = await reference(redis, fans(0, 420).map((f) => `x:${f}`));
    expect(await counts()).toEqual([all, all]);

    // ... and counts on there.
    await apply(replies(fans(420, 430)));
    const more = await reference(redis, fans(0, 430).map((f) => `x:${f}`));
    expect(more).not.toBe(all);
    expect(await counts()).toEqual([more, more]);
    expect(await redis.exists(`${keys.base}hll:~`)).toBe(0);
  });

  it('kept as keys by an earlier version, a small one moves into the evidence hash on the next engagement', async () => {
    const keys = makeKeys(testPrefix());
    const apply = applier(redis, keys);
    const te = `${keys.base}te:x:old:cats`;
    const hll = `${keys.base}hll:x:old`;
    // As 0.9 left an account: its post's topics in the evidence hash, its HyperLogLogs as keys, their counts in the account hash.
    await redis.hSet(keys.evidence('x:old'), 'p|op', '||cats');
    await redis.pfAdd(te, ['x:a', 'x:b', 'x:c']);
    await redis.pfAdd(hll, ['x:a', 'x:b', 'x:c']);
    await redis.hSet(keys.account('x:old'), { first: String(T0), 'te:cats': '3', D: '3' });

    await apply([reply(0, 'd', 'old', 'op')]);
    expect(await redis.exists([te, hll])).toBe(0);
    const fields = await redis.hmGet(keys.evidence('x:old'), ['h|cats', 'd|']);
    expect(fields.every((v) => v !== null && v.length <= HLL_FIELD_MAX)).toBe(true);
    const four = await reference(redis, ['x:a', 'x:b', 'x:c', 'x:d']);
    expect(four).toBe('4');
    expect(await redis.hmGet(keys.account('x:old'), ['te:cats', 'D'])).toEqual([four, four]);
    // A repeat engager moves nothing, in the field as in the key.
    await apply([reply(1, 'a', 'old', 'op')]);
    expect(await redis.hmGet(keys.account('x:old'), ['te:cats', 'D'])).toEqual([four, four]);
  });

  it('a Redis that keeps hash values in listpacks only up to 64 bytes is warned about at start', async () => {
    expect(await listpackWarning(redis)).toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'resonance-hll-conf-'));
    const server = await startRedisServer({ dir, persistence: 'none', extra: ['--hash-max-listpack-value', '64'] });
    const own = await connectRedis(server.url, 'test');
    try {
      expect(await listpackWarning(own)).toMatch(/hash-max-listpack-value 64: set it to 512/);
    } finally {
      await own.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the AOF holds the fields, not the scratch key they are counted in, and a restart reads the same state back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resonance-hll-aof-'));
    let server = await startRedisServer({ dir, persistence: 'aof' });
    let own = await connectRedis(server.url, 'test');
    try {
      const keys = makeKeys(testPrefix());
      const apply = applier(own, keys);
      let k = 0;
      await apply([post('star', 'sp', ['cats']), ...fans(0, 30).map((f) => reply(k++, f, 'star', 'sp'))]);
      await apply(fans(30, 40).map((f) => reply(k++, f, 'star', 'sp')));
      const before = { dy: await own.hGetAll(keys.evidence('x:star')), a: await own.hGetAll(keys.account('x:star')) };
      expect(before.dy['h|cats']).toBeDefined();
      await own.close();
      await server.stop();
      const aof = readdirSync(join(dir, 'appendonlydir')).map((f) => readFileSync(join(dir, 'appendonlydir', f), 'latin1')).join('');
      expect(aof).toContain('h|cats');
      expect(aof).not.toContain('hll:~');

      server = await startRedisServer({ dir, persistence: 'aof' });
      own = await connectRedis(server.url, 'test');
      expect({ dy: await own.hGetAll(keys.evidence('x:star')), a: await own.hGetAll(keys.account('x:star')) }).toEqual(before);
    } finally {
      await own.close().catch(() => {});
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
