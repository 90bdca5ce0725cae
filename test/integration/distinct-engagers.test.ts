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
import { RESP_TYPES } from 'redis';
import { connectRedis, listpackWarning, type RedisClient } from '../../server/infra/redis.js';
import { startRedisServer } from '../../server/infra/redis-server.js';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { modelParams } from '../../server/score/model.js';
import { HLL_FIELD_HEADER, HLL_FIELD_MAX } from '../../server/score/scripts.js';
import { createScoreStore } from '../../server/score/store.js';
import { moveEarlierLayouts } from '../../server/score/legacy.js';
import { testPrefix } from '../helpers/app.js';
import { topicOf } from '../helpers/state.js';

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

/** A HyperLogLog field's bytes as stored (a string reply would decode them as UTF-8). */
async function fieldBytes(redis: RedisClient, key: string, field: string): Promise<Buffer | null> {
  return (await redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).hGet(key, field)) as Buffer | null;
}

/** PFCOUNT of a field's HyperLogLog with Redis's header put back, as APPLY does. */
async function fieldCount(redis: RedisClient, bytes: Buffer): Promise<string> {
  const k = `ref:${Math.random().toString(36).slice(2)}`;
  await redis.set(k, Buffer.concat([HLL_FIELD_HEADER, bytes]));
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
    const counts = async () => [String((await topicOf(redis, keys, 'x:star', 'cats'))?.engagers), await redis.hGet(keys.account('x:star'), 'D')];
    let k = 0;
    const replies = (names: string[]) => names.map((who) => reply(k++, who, 'star', 'sp'));

    await apply([post('star', 'sp', ['cats']), ...replies(fans(0, 20))]);
    const small = await redis.hmGet(dy, ['h|cats', 'd|']);
    expect(small.every((v) => v !== null && v.length > 0 && v.length <= HLL_FIELD_MAX)).toBe(true);
    expect(await redis.exists([te, hll, `${keys.base}hll:~`])).toBe(0);
    const twenty = await reference(redis, fans(0, 20).map((f) => `x:${f}`));
    expect(twenty).toBe('20');
    expect(await counts()).toEqual([twenty, twenty]);
    // Without Redis's 16-byte header, which put back gives the same HyperLogLog.
    for (const field of ['h|cats', 'd|']) {
      const bytes = (await fieldBytes(redis, dy, field))!;
      expect(bytes.subarray(0, 4).toString('latin1')).not.toBe('HYLL');
      expect(await fieldCount(redis, bytes)).toBe(twenty);
    }

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

  it('kept as keys by an earlier version, the small ones move into the evidence hash when a scorer starts, and counting goes on there', async () => {
    const keys = makeKeys(testPrefix());
    const apply = applier(redis, keys);
    const key = (id: string, topic: string) => `${keys.base}te:${id}:${topic}`;
    // As 0.9 left two accounts: posts' topics and topic days in the evidence hash, HyperLogLogs as keys, their counts and topics a field each.
    const members = (n: number) => Array.from({ length: n }, (_, i) => `x:m${i}`);
    for (const [id, n] of [['x:old', 3], ['x:big', 400]] as const) {
      await redis.hSet(keys.evidence(id), { 'p|op': '||cats', cats: '20400' });
      await redis.pfAdd(key(id, 'cats'), members(n));
      await redis.pfAdd(`${keys.base}hll:${id}`, members(n));
      await redis.hSet(keys.account(id), { first: String(T0), 'tp:cats': '1', 'td:cats': '1', 'te:cats': String(n), 'tv:cats': '12.5', 'n:reply': String(n), D: String(n) });
    }
    expect(await moveEarlierLayouts(redis, keys)).toMatchObject({ accounts: 2 });
    // The small ones are fields now; the big ones stay keys. The topics are one field each, the counts by type gone.
    expect(await redis.exists([key('x:old', 'cats'), `${keys.base}hll:x:old`])).toBe(0);
    expect(await redis.hmGet(keys.evidence('x:old'), ['h|cats', 'd|'])).toEqual([expect.any(String), expect.any(String)]);
    expect(await redis.exists([key('x:big', 'cats'), `${keys.base}hll:x:big`])).toBe(2);
    expect(await redis.hmGet(keys.evidence('x:big'), ['h|cats', 'd|'])).toEqual([null, null]);
    for (const id of ['x:old', 'x:big']) {
      const fields = Object.keys(await redis.hGetAll(keys.account(id))).sort();
      expect(fields).toEqual(['D', 'first', 't:cats']);
    }
    // The topic's days, a field of the evidence hash named by the topic, are the field's sixth part now.
    expect(await redis.hGet(keys.account('x:old'), 't:cats')).toBe('1|1|3||12.5|20400');
    expect(await redis.hGet(keys.evidence('x:old'), 'cats')).toBeNull();
    expect(await topicOf(redis, keys, 'x:big', 'cats')).toEqual({ posts: 1, days: 1, engagers: 400, endorsers: 0, value: 12.5 });

    // Moved as they were, with Redis's header: the next apply reads them so, and writes them without it.
    const moved = (await fieldBytes(redis, keys.evidence('x:old'), 'd|'))!;
    expect(moved.subarray(0, 4).toString('latin1')).toBe('HYLL');
    await apply([reply(0, 'd', 'old', 'op'), reply(1, 'd', 'big', 'op')]);
    const four = await reference(redis, [...members(3), 'x:d']);
    expect(four).toBe('4');
    const rewritten = (await fieldBytes(redis, keys.evidence('x:old'), 'd|'))!;
    expect(rewritten.subarray(0, 4).toString('latin1')).not.toBe('HYLL');
    expect(await fieldCount(redis, rewritten)).toBe(four);
    expect(await topicOf(redis, keys, 'x:old', 'cats')).toMatchObject({ engagers: 4, posts: 1, days: 1 });
    expect(await redis.hGet(keys.account('x:old'), 'D')).toBe(four);
    const big = await reference(redis, [...members(400), 'x:d']);
    expect(String((await topicOf(redis, keys, 'x:big', 'cats'))!.engagers)).toBe(big);
    expect(await redis.hGet(keys.account('x:big'), 'D')).toBe(big);
    // A repeat engager moves nothing, in the field as in the key.
    await apply([reply(2, 'm0', 'old', 'op')]);
    expect(await topicOf(redis, keys, 'x:old', 'cats')).toMatchObject({ engagers: 4 });
    // Done once: the next start does not look again.
    expect(await moveEarlierLayouts(redis, keys)).toMatchObject({ accounts: 0 });
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
