/** Ingest → stream → pipeline → Redis → read API, against a real Redis. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeKeys } from '../../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { aggregate } from '../../server/score/aggregate.js';
import { COMPONENT_NAMES, modelParams, packComponents, unpackComponents } from '../../server/score/model.js';
import { ClaimedAccountError, createReads, topEngagers, type HistoryRange } from '../../server/score/reads.js';
import { createEntities } from '../../server/score/entities.js';
import { APPLY, ENGAGER_SCALE, TOP_FIELD_MAX, TOP_SET_KEEP, TOP_SET_MAX } from '../../server/score/scripts.js';
import { HISTORY_FIELD_MAX, RECORD_FIELDS, SWEEP, TAKE, WRITE } from '../../server/score/write-scripts.js';
import { parseAccount, scoreAccounts } from '../../server/score/score.js';
import { StaleWatermarkError, createScoreStore, type LiveWrite, type ScoreChange } from '../../server/score/store.js';
import { WRITE_CHUNK, WRITE_CHUNK_MAX, WRITE_PASS_CHUNKS, chunkSize } from '../../server/score/write-chunks.js';
import { MemoryState } from '../../server/score/fold.js';
import { moveEarlierLayouts } from '../../server/score/legacy.js';
import { dropIdleConsumers } from '../../server/pipeline/source.js';
import { postEvents, startApp, testPrefix, until, type TestApp } from '../helpers/app.js';
import { decodeDays, hashBytes, postsOf, topicOf } from '../helpers/state.js';

const ts = (minAgo: number) => Date.now() - minAgo * 60_000;
const scored = (t: TestApp, n: number) => until(() => (t.app.pipeline!.stats.eventsScored >= n ? true : undefined), 15_000, `${n} events scored`);

describe('pipeline and read API', () => {
  let t: TestApp;
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  /** A score store with its reads and entities, on keys of its own (the test Redis is shared). */
  function storeOnKeysOfItsOwn() {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    return { keys, P, store, reads: createReads(redis, keys, store, P), entities: createEntities(redis, keys, store) };
  }

  it('scores ingested events; the entity and the leaderboard agree', async () => {
    const events = [
      { id: 'p0', network: 'x', type: 'profile', actor: 'mashable', name: 'Mashable', followers: 9_000_000, ts: ts(50) },
      { id: 'p1', network: 'x', type: 'post', actor: 'mashable', post: 'm1', ts: ts(40) },
      ...Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, network: 'x', type: 'reply', actor: `u${i}`, target: 'mashable', post: 'm1', ts: ts(30) })),
      { id: 'q1', network: 'x', type: 'post', actor: 'quiet', post: 'q1', ts: ts(30) },
      { id: 'q2', network: 'x', type: 'like', actor: 'u1', target: 'quiet', post: 'q1', ts: ts(20) },
    ];
    expect((await postEvents(t.url, events)).body.accepted).toBe(events.length);
    await scored(t, events.length);

    const m = await (await fetch(`${t.url}/api/entities/x:mashable`)).json();
    expect(m).toMatchObject({ id: 'x:mashable', name: 'Mashable', kind: 'person', accounts: ['x:mashable'], rank: 1, topics: [] });
    // Given, not stored: an account's record holds neither its kind nor its one account.
    expect(await redis.hmGet(makeKeys(t.prefix).score('x:mashable'), ['kind', 'accounts'])).toEqual([null, null]);
    expect(Object.keys(m.components).sort()).toEqual(['amplification', 'endorsements', 'engagement', 'outcomes', 'reach']);
    expect(m.score).toBeGreaterThan(1);
    expect(m.score).toBeLessThanOrEqual(100);
    expect(Math.round(m.score * 10) / 10).toBe(m.score);
    expect(m.components.reach).toBeGreaterThan(80);
    expect(m.components.engagement).toBeGreaterThan(0);
    expect(Date.parse(m.updatedAt)).toBe(Math.max(...events.filter((e) => (e as { target?: string }).target === 'mashable' || e.actor === 'mashable').map((e) => e.ts)));

    const quiet = await (await fetch(`${t.url}/api/entities/x:quiet`)).json();
    expect(quiet.score).toBeLessThan(m.score);

    const lb = await (await fetch(`${t.url}/api/leaderboard?limit=500`)).json();
    expect(lb.scope).toBe('global');
    // Every account that appeared is scored: 2 subjects and 30 repliers.
    expect(lb.total).toBe(32);
    expect(lb.entries[0]).toMatchObject({ rank: 1, id: 'x:mashable', name: 'Mashable', score: m.score });
    for (const entry of lb.entries.slice(0, 5)) {
      const e = await (await fetch(`${t.url}/api/entities/${encodeURIComponent(entry.id)}`)).json();
      expect(e.score).toBe(entry.score);
      expect(e.rank).toBe(entry.rank);
    }
    const page = await (await fetch(`${t.url}/api/leaderboard?limit=2&offset=1`)).json();
    expect(page.entries.map((x: { rank: number }) => x.rank)).toEqual([2, 3]);
    expect(page.entries[0].id).toBe(lb.entries[1].id);
  });

  it('answers 404 for an unknown entity and 400 for a bad leaderboard query', async () => {
    expect(await (await fetch(`${t.url}/api/entities/x:nobody`)).json()).toEqual({ error: { code: 'entity_not_found', message: 'no entity "x:nobody"' } });
    for (const q of ['limit=0', 'limit=501', 'scope=everything', 'offset=-1', 'limit=ten']) {
      const r = await fetch(`${t.url}/api/leaderboard?${q}`);
      expect(r.status, q).toBe(400);
      expect((await r.json()).error.code).toBe('invalid_request');
    }
  });

  it('health, readiness, metrics and the OpenAPI document', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ ok: true, redis: true, pipeline: 'running' });
    /** One scrape: its text, and a metric's value by name. */
    const scrape = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      return { text, value: (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) };
    };
    const { text: metrics, value } = await scrape();
    expect(metrics).toMatch(/^resonance_events_scored_total \d+$/m);
    expect(value('resonance_score_writes_total')).toBeGreaterThan(0);
    expect(value('resonance_score_write_seconds_total')).toBeGreaterThan(0);
    expect(value('resonance_apply_waited_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(metrics).toMatch(/^resonance_stream_lag \d+$/m);
    expect(metrics).toMatch(/^resonance_stream_pending 0$/m);
    expect(metrics).toMatch(/^resonance_scoring_delay_seconds 0$/m);
    // The event loop's delay since the previous scrape: a 150 ms hold shows in the next scrape, and not in the one after.
    const hold = Date.now();
    while (Date.now() - hold < 150);
    const loop = async () => {
      const get = (await scrape()).value;
      return { p99: get('resonance_event_loop_delay_p99_seconds'), max: get('resonance_event_loop_delay_max_seconds') };
    };
    const held = await loop();
    expect(held.max).toBeGreaterThanOrEqual(0.13);
    expect(held.p99).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 100));
    const after = await loop();
    expect(after.max).toBeLessThan(0.13);
    expect(after.p99).toBeLessThanOrEqual(after.max);
    // Live channels publish up to 10 times a second; a saturated event loop (busy 45 ms in every ~46 for 1.3 s) slows them, and room brings them back.
    expect(value('resonance_live_publish_interval_seconds')).toBe(0.1);
    const busyUntil = Date.now() + 1300;
    while (Date.now() < busyUntil) {
      const h = Date.now();
      while (Date.now() - h < 45);
      await new Promise((r) => setImmediate(r));
    }
    expect((await scrape()).value('resonance_live_publish_interval_seconds')).toBeGreaterThan(0.1);
    expect(t.app.pace!.interval).toBeGreaterThan(100);
    await until(async () => (await scrape()).value('resonance_live_publish_interval_seconds') === 0.1 || undefined, 10_000, 'the pace back at 10 a second');
    const doc = await (await fetch(`${t.url}/docs/json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/events', '/api/entities/{id}', '/api/leaderboard', '/healthz', '/readyz']));
    expect(doc.paths['/api/events'].post.requestBody.content['application/json'].schema.oneOf[0].properties.network.pattern).toBe('^[a-z0-9][a-z0-9-]{0,31}$');
    expect((await fetch(`${t.url}/docs`)).status).toBe(200);
  });

  it('scores posts and handles named like an object\'s own properties (__proto__, constructor) as any other', async () => {
    let sent = t.app.pipeline!.stats.eventsScored;
    const events = [
      { id: 'pr1', network: 'x', type: 'post', actor: 'constructor', post: '__proto__', topics: ['cats'], ts: ts(30) },
      { id: 'pr2', network: 'x', type: 'like', actor: '__proto__', target: 'constructor', post: '__proto__', ts: ts(29) },
      { id: 'pr3', network: 'x', type: 'reply', actor: 'toString', target: 'constructor', post: '__proto__', ts: ts(29) },
      { id: 'pr4', network: 'x', type: 'share', actor: 'hasOwnProperty', target: 'constructor', post: 'constructor', ts: ts(29) },
    ];
    expect((await postEvents(t.url, events)).body.accepted).toBe(events.length);
    sent += events.length;
    await scored(t, sent);
    expect(t.app.pipeline!.stats.lastError).toBeNull();
    const ex = await (await fetch(`${t.url}/api/entities/x:constructor/explain`)).json();
    expect(ex.posts.map((p: { post: string }) => p.post).sort()).toEqual(['__proto__', 'constructor']);
    expect(ex.engagers.map((e: { engager: string }) => e.engager).sort()).toEqual(['x:__proto__', 'x:hasOwnProperty', 'x:toString']);
    expect(({} as Record<string, unknown>).e).toBeUndefined();
  });

  it('refuses strings that are not well-formed Unicode (a lone surrogate), which would stop the scorer, and scores what comes after', async () => {
    let sent = t.app.pipeline!.stats.eventsScored;
    const lone = '\ud800';
    const bad = [
      { id: 'ls1', network: 'x', type: 'like', actor: `a${lone}`, target: 'lonely', post: 'lp', ts: ts(20) },
      { id: 'ls2', network: 'x', type: 'like', actor: 'b', target: `t${lone}`, post: 'lp', ts: ts(20) },
      { id: 'ls3', network: 'x', type: 'like', actor: 'c', target: 'lonely', post: `p${lone}`, ts: ts(20) },
      { id: 'ls4', network: 'x', type: 'profile', actor: 'lonely', name: `N\udc00ame`, ts: ts(20) },
      { id: `ls5${lone}`, network: 'x', type: 'like', actor: 'd', target: 'lonely', post: 'lp', ts: ts(20) },
      { id: 'ls6', network: 'x', type: 'post', actor: 'lonely', post: 'lp', topics: [`cats${lone}`], ts: ts(20) },
    ];
    const good = { id: 'ls7', network: 'x', type: 'reply', actor: 'e', target: 'lonely', post: 'lp', ts: ts(19) };
    const r = await postEvents(t.url, [...bad, good]);
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(1);
    expect(r.body.rejected.map((x: { index: number }) => x.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const x of r.body.rejected) {
      expect(x.code).toBe('invalid_field');
      expect(x.message).toMatch(/not well-formed Unicode/);
    }
    expect(r.body.rejected[1].message).toMatch(/^"target"/);
    // Pairs of surrogates (an emoji) are well-formed and accepted.
    expect((await postEvents(t.url, [{ id: 'ls8', network: 'x', type: 'like', actor: 'f\ud83d\ude00', target: 'lonely', post: 'lp', ts: ts(19) }])).body.accepted).toBe(1);
    sent += 2;
    await scored(t, sent);
    expect(t.app.pipeline!.stats.lastError).toBeNull();
    expect((await fetch(`${t.url}/api/entities/x:lonely`)).status).toBe(200);

    // One that an earlier version let into the log is scored with U+FFFD in its place, and stops nothing.
    const keys = makeKeys(t.prefix);
    const old = { ...bad[0]!, id: 'ls9', actor: `old${lone}`, target: `older${lone}`, post: `p${lone}`, ts: ts(18) };
    await redis.xAdd(keys.stream, '*', { e: JSON.stringify(old), q: '1', f: '' });
    expect((await postEvents(t.url, [{ ...good, id: 'ls10' }])).body.accepted).toBe(1);
    sent += 2;
    await scored(t, sent);
    expect(t.app.pipeline!.stats.lastError).toBeNull();
    const older = await (await fetch(`${t.url}/api/entities/${encodeURIComponent('x:older\ufffd')}/explain`)).json();
    expect(older.engagers.map((e: { engager: string }) => e.engager)).toEqual(['x:old\ufffd']);
  });

  it('the apply refuses a batch whose watermark is stale, so a redelivered batch never counts twice', async () => {
    const keys = makeKeys(testPrefix());
    const store = createScoreStore(redis, keys, modelParams(30));
    const deltas = aggregate([{ id: 'w1', network: 'x', type: 'follow', actor: 'f', target: 'w', ts: Date.UTC(2026, 0, 1) }], modelParams(30));
    await store.apply(deltas.values(), '', '5-0', Date.UTC(2026, 0, 1));
    expect(await store.watermark()).toBe('5-0');
    await expect(store.apply(deltas.values(), '', '5-0', Date.UTC(2026, 0, 1))).rejects.toBeInstanceOf(StaleWatermarkError);
    expect(await redis.hGet(keys.account('x:w'), 'nf')).toBe('1');
  });

  it('one apply of a batch that marks more than a thousand accounts marks every one and its owner dirty (its owners are read 1,000 at a time)', async () => {
    const { keys, P, store, entities } = storeOnKeysOfItsOwn();
    const T = Date.UTC(2026, 0, 10, 12);
    // 1,300 follows, each from an account never seen to another: 2,600 accounts marked by one APPLY, as a
    // batch of the default size (BATCH_SIZE 2000) can.
    const follows = Array.from({ length: 1300 }, (_, i) => ({ id: `mf${i}`, network: 'x', type: 'follow' as const, actor: `fan${i}`, target: `idol${i}`, ts: T + i }));
    await entities.put('late', { name: 'Late Co', kind: 'brand', accounts: ['x:idol1299'] });
    await store.rescoreDirty();
    await store.apply(aggregate(follows, P).values(), '', '1-0', T + 1300);
    const dirty = new Set(await redis.sMembers(keys.dirty));
    expect(dirty.size).toBe(2601);
    for (const f of follows) {
      expect(dirty.has(`x:${f.actor}`)).toBe(true);
      expect(dirty.has(`x:${f.target}`)).toBe(true);
    }
    expect(dirty.has('late')).toBe(true);
    // The claimed account is scored as part of its brand, not as an entity of its own.
    const written = new Set((await store.rescoreDirty()).map((c) => c.id));
    expect(written.size).toBe(2600);
    expect(written.has('late')).toBe(true);
    expect(written.has('x:idol1299')).toBe(false);
    expect(written.has('x:fan1299')).toBe(true);
    expect(await redis.sCard(keys.dirty)).toBe(0);
  });

  it('the explanation names an early heavy engager after a hundred light ones, with the top-engager set kept small', async () => {
    let sent = t.app.pipeline!.stats.eventsScored;
    const send = async (events: object[]) => {
      expect((await postEvents(t.url, events)).body.accepted).toBe(events.length);
      sent += events.length;
      await scored(t, sent);
    };
    await send([
      { id: 'tk-p', network: 'x', type: 'post', actor: 'topk', post: 'tk1', ts: ts(50) },
      ...['heavy1', 'heavy2', 'heavy3'].flatMap((h, k) => Array.from({ length: 10 - k }, (_, i) => ({ id: `tk-${h}-${i}`, network: 'x', type: 'reply', actor: h, target: 'topk', post: 'tk1', ts: ts(45) }))),
    ]);
    for (let chunk = 0; chunk < 4; chunk++) {
      await send(Array.from({ length: 25 }, (_, i) => ({ id: `tk-l${chunk}-${i}`, network: 'x', type: 'like', actor: `light${chunk}-${i}`, target: 'topk', post: 'tk1', ts: ts(40 - chunk) })));
    }
    const ex = await (await fetch(`${t.url}/api/entities/x:topk/explain`)).json();
    expect(ex.engagers.slice(0, 3).map((e: { engager: string }) => e.engager)).toEqual(['x:heavy1', 'x:heavy2', 'x:heavy3']);
    expect(ex.engagers).toHaveLength(5);
    const keys = makeKeys(t.prefix);
    // A field of the evidence hash, not a key of its own: its handles are short.
    expect(await redis.exists(keys.topEngagers('x:topk'))).toBe(0);
    const kept = await topEngagers(redis, keys, 'x:topk', 100);
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(kept.length).toBeLessThanOrEqual(TOP_SET_MAX);
  });

  it('keeps top engagers in the evidence hash as a sorted set would hold them, ties and trims alike, and in a set of their own once too big', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const T = Date.UTC(2026, 0, 10, 12);
    const oracle = `${keys.base}test:oracle`;
    let wm = '';
    let n = 0;
    // Each batch applied, and the same sums added and trimmed by Redis's own commands in a sorted set (as 0.12.5 kept them).
    const batch = async (who: string[], type = 'like') => {
      const events = who.map((h) => ({ id: `te${n++}`, network: 'x', type: type as 'like', actor: h, target: 'fav', post: 'p1', ts: T }));
      const deltas = aggregate(events, P);
      const next = `${n}-0`;
      await store.apply(deltas.values(), wm, next, T);
      wm = next;
      const w = deltas.get('x:fav')!.engagerWeights;
      const handles = Object.keys(w).map((k) => k.slice(2));
      const had = await redis.zmScore(oracle, handles);
      await redis.zAdd(oracle, handles.map((h, i) => ({ value: h, score: Math.floor((had[i] ?? 0) + w[`x:${h}`]! * ENGAGER_SCALE + 0.5) })));
      if ((await redis.zCard(oracle)) > TOP_SET_MAX) await redis.zRemRangeByRank(oracle, 0, -(TOP_SET_KEEP + 1));
      expect(await topEngagers(redis, keys, 'x:fav', 100)).toEqual((await redis.zRangeWithScores(oracle, 0, -1, { REV: true })));
    };
    // Equal weights (one like each, same time, new accounts) whose byte order is not the alphabet's.
    await batch(['b', 'B', 'a', '_', 'Z', 'é', 'ab', 'a b']);
    await batch(['a', 'Z']);
    await batch(['B'], 'share');
    // Past TOP_SET_MAX: trimmed back to TOP_SET_KEEP, the lightest and, among equals, the first in byte order go.
    await batch(Array.from({ length: 12 }, (_, i) => `z${i}`));
    expect(await topEngagers(redis, keys, 'x:fav', 100)).toHaveLength(TOP_SET_KEEP);
    expect(await redis.exists(keys.topEngagers('x:fav'))).toBe(0);
    expect(await redis.hStrLen(keys.evidence('x:fav'), 'g|')).toBeGreaterThan(0);
    expect(await redis.hStrLen(keys.evidence('x:fav'), 'g|')).toBeLessThanOrEqual(TOP_FIELD_MAX);
    // Handles long enough that the packed list passes TOP_FIELD_MAX: a sorted set of its own from then on.
    await batch(Array.from({ length: 6 }, (_, i) => `${'long'.repeat(24)}${i}`));
    expect(await redis.hStrLen(keys.evidence('x:fav'), 'g|')).toBe(0);
    expect(await redis.exists(keys.topEngagers('x:fav'))).toBe(1);
    await batch(['a', 'new'], 'reply');
    await batch(Array.from({ length: 10 }, (_, i) => `y${i}`));
    expect(await redis.zCard(keys.topEngagers('x:fav'))).toBeLessThanOrEqual(TOP_SET_MAX);
    const ex = await createReads(redis, keys, store, P).explain('x:fav', 5);
    expect(ex!.engagers.map((e) => e.engager)).toEqual((await redis.zRange(oracle, 0, 4, { REV: true })).map((h) => `x:${h}`));
  });

  it('keeps top engagers by handle, weights in thousandths, whole, and moves the sets of earlier versions into them when a scorer starts', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const T = Date.UTC(2026, 0, 10, 12);
    // As 0.9 left an account: its top engagers by full id with their weights as computed; as 0.10 left
    // another: by full id in thousandths. (A handle may itself hold ':'.)
    await redis.hSet(keys.account('x:old'), 'first', String(T));
    await redis.zAdd(keys.legacyTopEngagers('x:old').computed, [{ value: 'x:a', score: 1.2345 }, { value: 'x:b', score: 2.5 }]);
    await redis.hSet(keys.account('bluesky:ten'), 'first', String(T));
    await redis.zAdd(keys.legacyTopEngagers('bluesky:ten').thousandths, [{ value: 'bluesky:did:plc:q', score: 4321 }]);
    expect(await moveEarlierLayouts(redis, keys)).toMatchObject({ accounts: 2 });
    expect(await redis.exists([keys.legacyTopEngagers('x:old').computed, keys.legacyTopEngagers('bluesky:ten').thousandths])).toBe(0);
    expect(await redis.zRangeWithScores(keys.topEngagers('x:old'), 0, -1)).toEqual([{ value: 'a', score: 1235 }, { value: 'b', score: 2500 }]);
    expect(await redis.zRangeWithScores(keys.topEngagers('bluesky:ten'), 0, -1)).toEqual([{ value: 'did:plc:q', score: 4321 }]);
    const events = ['a', 'c', 'c'].map((who, k) => ({ id: `eg${k}`, network: 'x', type: 'reply' as const, actor: who, target: 'old', post: 'p1', ts: T + k }));
    events.push({ id: 'eg-did', network: 'bluesky', type: 'reply', actor: 'did:plc:q', target: 'ten', post: 'p2', ts: T + 5 });
    const deltas = aggregate(events, P);
    await store.apply(deltas.values(), '', '1-0', T + 10);
    const w = deltas.get('x:old')!.engagerWeights;
    const got = await redis.zRangeWithScores(keys.topEngagers('x:old'), 0, -1);
    expect(got.every((m) => Number.isInteger(m.score))).toBe(true);
    expect(Object.fromEntries(got.map((m) => [m.value, m.score]))).toEqual({
      a: 1235 + Math.round(w['x:a']! * ENGAGER_SCALE),
      b: 2500,
      c: Math.round(w['x:c']! * ENGAGER_SCALE),
    });
    const did = deltas.get('bluesky:ten')!.engagerWeights['bluesky:did:plc:q']!;
    expect(await redis.zRangeWithScores(keys.topEngagers('bluesky:ten'), 0, -1)).toEqual([{ value: 'did:plc:q', score: 4321 + Math.round(did * ENGAGER_SCALE) }]);
  });

  it('keeps the days of an account’s topics in one hash, and moves days an earlier version kept in sets into it', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const DAY = 86_400_000;
    // Written by an earlier version: a set of days per account and topic, and its count in the account hash.
    for (const who of ['x:old', 'x:same']) {
      await redis.sAdd(`${keys.base}td:${who}:cats`, ['20000', '20001']);
      await redis.hSet(keys.account(who), { first: '1', 'tp:cats': '2', 'td:cats': '2' });
    }
    // A scorer's start packs the account's topic fields and the days with them.
    await moveEarlierLayouts(redis, keys);
    const days0 = async (who: string) => (await topicOf(redis, keys, who, 'cats'))?.days;
    expect([await days0('x:old'), await days0('x:same')]).toEqual([2, 2]);
    expect(await redis.hGet(keys.account('x:old'), 't:cats')).toBe('2|2||||20000,20001');
    expect(await redis.exists([`${keys.base}td:x:old:cats`, `${keys.base}td:x:same:cats`])).toBe(0);
    const post = (id: string, actor: string, day: number, topics: string[]) => ({ id, network: 'x', type: 'post' as const, actor, post: id, topics, ts: day * DAY + 5000 });
    await store.apply(
      aggregate([post('a', 'old', 20002, ['cats']), post('b', 'same', 20001, ['cats']), post('c', 'new', 20003, ['cats', 'dogs']), post('d', 'new', 20003, ['cats']), post('e', 'new', 20005, ['cats'])], P).values(),
      '',
      '1-0',
      20005 * DAY,
    );
    // The days themselves: the sixth part of the topic's field.
    const days = async (who: string, topic: string) => decodeDays(((await redis.hGet(keys.account(who), `t:${topic}`)) ?? '').split('|')[5]!).map(String).sort();
    expect(await days('x:old', 'cats')).toEqual(['20000', '20001', '20002']);
    expect(await topicOf(redis, keys, 'x:old', 'cats')).toMatchObject({ days: 3, posts: 3 });
    // A post on a day already counted adds no day, and the old days still move.
    expect(await days('x:same', 'cats')).toEqual(['20000', '20001']);
    expect(await topicOf(redis, keys, 'x:same', 'cats')).toMatchObject({ days: 2, posts: 3 });
    expect(await redis.exists([`${keys.base}td:x:old:cats`, `${keys.base}td:x:same:cats`])).toBe(0);
    expect(await days('x:new', 'cats')).toEqual(['20003', '20005']);
    expect(await days('x:new', 'dogs')).toEqual(['20003']);
    expect(await topicOf(redis, keys, 'x:new', 'cats')).toMatchObject({ days: 2, posts: 3 });
    expect(await topicOf(redis, keys, 'x:new', 'dogs')).toMatchObject({ days: 1, posts: 1 });
    // A later batch on a known day changes nothing; a new day counts.
    await store.apply(aggregate([post('f', 'new', 20005, ['cats']), post('g', 'new', 20006, ['dogs'])], P).values(), '1-0', '2-0', 20006 * DAY);
    expect([(await topicOf(redis, keys, 'x:new', 'cats'))?.days, (await topicOf(redis, keys, 'x:new', 'dogs'))?.days]).toEqual([2, 2]);
  });

  it('keeps a topic tagged on many days in a few bytes: six days a character where that is shorter than the list', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const DAY = 86_400_000;
    const decode = decodeDays;
    const daysPart = async (who: string) => ((await redis.hGet(keys.account(who), 't:cats')) ?? '').split('|')[5]!;
    // 300 posts on 200 distinct days, out of order (137 is prime to 200), 100 days twice, in batches of 50.
    const days = Array.from({ length: 300 }, (_, i) => 20000 + ((i * 137) % 200));
    const post = (i: number, day: number) => ({ id: `md${i}`, network: 'x', type: 'post' as const, actor: 'daily', post: `md${i}`, topics: ['cats'], ts: day * DAY + 1000 });
    const mirror = new MemoryState();
    for (let b = 0; b < 6; b++) {
      const deltas = aggregate(days.slice(b * 50, b * 50 + 50).map((d, k) => post(b * 50 + k, d)), P);
      await store.apply(deltas.values(), b === 0 ? '' : `${b}-0`, `${b + 1}-0`, 20400 * DAY);
      mirror.apply(deltas.values());
    }
    const part = await daysPart('x:daily');
    expect(new Set(decode(part))).toEqual(new Set(days));
    expect(decode(part)).toHaveLength(200);
    expect(await topicOf(redis, keys, 'x:daily', 'cats')).toMatchObject({ posts: 300, days: 200 });
    expect(mirror.snapshot('x:daily').topics.cats).toMatchObject({ posts: 300, days: 200 });
    // 200 days listed would take 1,199 bytes; as bits, the first day and 200 / 6 characters.
    expect(part.length).toBe('20000.'.length + Math.ceil(200 / 6));
    // A day before the first, and a day far off: the shorter form each time, the count right.
    await store.apply(aggregate([post(900, 19990)], P).values(), '6-0', '7-0', 20400 * DAY);
    expect(new Set(decode(await daysPart('x:daily')))).toEqual(new Set([...days, 19990]));
    expect((await daysPart('x:daily')).startsWith('19990.')).toBe(true);
    // Two days years apart stay a list.
    await store.apply(aggregate([post(901, 10), post(902, 20000)].map((e) => ({ ...e, actor: 'rare' })), P).values(), '7-0', '8-0', 20400 * DAY);
    expect(await daysPart('x:rare')).toMatch(/^(10,20000|20000,10)$/);
    expect(await topicOf(redis, keys, 'x:rare', 'cats')).toMatchObject({ days: 2 });
  });

  it('keeps endorsements in the account’s topic hash, once per endorser, topic and day, and moves the sets of an earlier version into it', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const DAY = 86_400_000;
    const dy = `${keys.base}dy:x:star`;
    // Written by an earlier version: one endorsement by e1 on day 20000, in two sets, counted in the account hash.
    await redis.sAdd(`${keys.base}k:x:star`, '20000|cats|x:e1');
    await redis.sAdd(`${keys.base}tk:x:star:cats`, 'x:e1');
    await redis.hSet(keys.account('x:star'), { first: '1', K: '5', 'tv:cats': '5', 'tk:cats': '1' });
    await moveEarlierLayouts(redis, keys);
    const endorse = (id: string, actor: string, day: number) => ({ id, network: 'x', type: 'endorse' as const, actor, target: 'star', topics: ['cats'], ts: day * DAY + 1000 });
    const K = async () => Number(await redis.hGet(keys.account('x:star'), 'K'));
    await store.apply(aggregate([endorse('a', 'e1', 20000)], P).values(), '', '1-0', 20000 * DAY);
    // The same endorser, topic and day again counts for nothing; the old sets are gone, their members moved.
    expect(await K()).toBe(5);
    expect(await redis.exists([`${keys.base}k:x:star`, `${keys.base}tk:x:star:cats`])).toBe(0);
    expect(await redis.hmGet(dy, ['k|20000|cats|x:e1', 'e|cats|x:e1'])).toEqual(['1', '1']);
    // Another day counts again, from the same endorser (still one endorser); a second endorser makes two.
    await store.apply(aggregate([endorse('b', 'e1', 20001), endorse('c', 'e1', 20001), endorse('d', 'e2', 20001)], P).values(), '1-0', '2-0', 20001 * DAY);
    expect(await K()).toBeGreaterThan(5);
    expect(await topicOf(redis, keys, 'x:star', 'cats')).toMatchObject({ endorsers: 2 });
    expect((await redis.hKeys(dy)).sort()).toEqual(['e|cats|x:e1', 'e|cats|x:e2', 'k|20000|cats|x:e1', 'k|20001|cats|x:e1', 'k|20001|cats|x:e2']);
    const k2 = await K();
    await store.apply(aggregate([endorse('e', 'e2', 20001)], P).values(), '2-0', '3-0', 20001 * DAY);
    expect(await K()).toBe(k2);
  });

  it('keeps an account’s posts in its evidence hash, one field per post, and moves the post hashes of an earlier version into it', async () => {
    const P = modelParams(30);
    const T = Date.UTC(2026, 0, 10, 12);
    const ev = (id: string, type: string, actor: string, extra: Record<string, unknown> = {}) => ({ id, network: 'x', type, actor, ts: T + id.length * 1000, ...extra }) as never;
    const first = [
      ev('a1', 'post', 'star', { post: 'm1', topics: ['cats'] }),
      ev('a2', 'post', 'star', { post: 'm|2', topics: ['dogs', 'cats'] }),
      ...['u1', 'u2', 'u3'].map((u) => ev(`r-${u}`, 'reply', u, { target: 'star', post: 'm1' })),
      ev('s1', 'share', 'u4', { target: 'star', post: 'm|2' }),
      ev('l1', 'like', 'u5', { target: 'star' }),
      // Engaged before the post itself arrives, in the next batch, with its topics.
      ev('l2', 'like', 'u6', { target: 'star', post: 'm3' }),
    ];
    const second = [ev('a3', 'post', 'star', { post: 'm3', topics: ['birds'] }), ev('l3', 'like', 'u7', { target: 'star', post: 'm1' })];
    const third = [ev('s2', 'share', 'u8', { target: 'star', post: 'm3' })];
    const now = makeKeys(testPrefix());
    const old = makeKeys(testPrefix());
    const stores = [createScoreStore(redis, now, P), createScoreStore(redis, old, P)];
    for (const store of stores) await store.apply(aggregate(first, P).values(), '', '1-0', T);
    const star = 'x:star';
    const posts = await postsOf(redis, now, star);
    const N = expect.any(Number);
    expect(posts).toEqual({
      m1: { e: N, a: 0, topics: 'cats', bytes: 1 + 8 + 4 },
      'm|2': { e: 0, a: N, topics: 'dogs,cats', bytes: 1 + 8 + 9 },
      '-': { e: N, a: 0, topics: '', bytes: 1 + 8 },
      m3: { e: N, a: 0, topics: '', bytes: 1 + 8 },
    });
    expect(Object.values(posts).every((p) => p.e + p.a > 0)).toBe(true);
    // The same state as an earlier version kept it: a post hash of three fields per post, sums as text.
    for (const [post, { e, a, topics }] of Object.entries(posts)) {
      await redis.hSet(old.posts(star), { ...(e ? { [`e|${post}`]: String(e) } : {}), ...(a ? { [`a|${post}`]: String(a) } : {}), ...(topics ? { [`t|${post}`]: topics } : {}) });
      await redis.hDel(old.evidence(star), `p|${post}`);
    }
    expect(await moveEarlierLayouts(redis, old)).toEqual({ posts: 1, records: 0, accounts: 0, scored: 0 });
    expect(await redis.exists(old.posts(star))).toBe(0);
    expect(await hashBytes(redis, old.evidence(star))).toEqual(await hashBytes(redis, now.evidence(star)));
    // Done once: the next start does not look again.
    await redis.hSet(old.posts('x:late'), 'e|q', '1');
    expect((await moveEarlierLayouts(redis, old)).posts).toBe(0);
    await redis.del(old.posts('x:late'));
    // Both go on to the same state; the post engaged first keeps its sums and gains its topic.
    for (const store of stores) await store.apply(aggregate(second, P).values(), '1-0', '2-0', T);
    expect((await postsOf(redis, now, star)).m3).toEqual({ e: posts.m3!.e, a: 0, topics: 'birds', bytes: 1 + 8 + 5 });
    for (const store of stores) await store.apply(aggregate(third, P).values(), '2-0', '3-0', T);
    expect(await hashBytes(redis, old.evidence(star))).toEqual(await hashBytes(redis, now.evidence(star)));
    expect(await redis.hGetAll(old.account(star))).toEqual(await redis.hGetAll(now.account(star)));
    expect((await postsOf(redis, now, star)).m3).toMatchObject({ e: posts.m3!.e, a: N, topics: 'birds', bytes: 1 + 16 + 5 });
    expect((await topicOf(redis, now, star, 'birds'))!.value).toBeGreaterThan(0);
    const snap = parseAccount(star, await redis.hGetAll(now.account(star)));
    const mirror = new MemoryState();
    mirror.apply(aggregate(first, P).values());
    mirror.apply(aggregate(second, P).values());
    mirror.apply(aggregate(third, P).values());
    expect(snap.E).toBeCloseTo(mirror.snapshot(star).E, 6);
    expect(snap.A).toBeCloseTo(mirror.snapshot(star).A, 6);
    expect(snap.topics).toEqual(mirror.snapshot(star).topics);
  });

  it('reads a post’s field written as text before 0.12.6, and rewrites it as bytes on the post’s next change, its sums exact', async () => {
    const P = modelParams(30);
    const T = Date.UTC(2026, 0, 10, 12);
    const keys = makeKeys(testPrefix());
    const store = createScoreStore(redis, keys, P);
    const text = { e: 1401656369713507.25, a: 373774400680008.0625 };
    // As 0.12.5 wrote them: '<e>|<a>|<topics>', 17 significant digits, '' for a zero sum.
    await redis.hSet(keys.evidence('x:txt'), { 'p|m1': `${text.e.toPrecision(17)}|${text.a.toPrecision(17)}|cats`, 'p|m2': '||dogs' });
    await redis.hSet(keys.account('x:txt'), { first: String(T - 1000), E: String(Math.sqrt(text.e)), A: String(Math.sqrt(text.a)) });
    const like = (id: string, actor: string, post: string) => ({ id, network: 'x', type: 'like' as const, actor, target: 'txt', post, ts: T });
    const deltas = aggregate([like('t1', 'f1', 'm1'), like('t2', 'f2', 'm2')], P);
    const d = deltas.get('x:txt')!;
    await store.apply(deltas.values(), '', '1-0', T);
    const posts = await postsOf(redis, keys, 'x:txt');
    expect(posts).toEqual({
      m1: { e: text.e + d.posts.m1!.e, a: text.a, topics: 'cats', bytes: 1 + 16 + 4 },
      m2: { e: d.posts.m2!.e, a: 0, topics: 'dogs', bytes: 1 + 8 + 4 },
    });
    // Each post's engagement counted at its topic, and the account's sum moved by the β-th powers, from the text's sums.
    expect((await topicOf(redis, keys, 'x:txt', 'cats'))!.value).toBeGreaterThan(0);
    expect((await topicOf(redis, keys, 'x:txt', 'dogs'))!.value).toBeGreaterThan(0);
    const E = Number(await redis.hGet(keys.account('x:txt'), 'E'));
    expect(E).toBeCloseTo(Math.sqrt(text.e + d.posts.m1!.e) + Math.sqrt(d.posts.m2!.e), 6);
    // Read back as bytes, both sums go on from where they were.
    const more = aggregate([like('t3', 'f3', 'm1'), { ...like('t4', 'f4', 'm1'), type: 'share' as const }], P);
    const m = more.get('x:txt')!.posts.m1!;
    await store.apply(more.values(), '1-0', '2-0', T);
    expect((await postsOf(redis, keys, 'x:txt')).m1).toEqual({ e: text.e + d.posts.m1!.e + m.e, a: text.a + m.a, topics: 'cats', bytes: 1 + 16 + 4 });
  });

  it('moves an earlier version’s post hashes when a scorer starts, before it applies anything', async () => {
    const prefix = testPrefix();
    const keys = makeKeys(prefix);
    await redis.hSet(keys.posts('x:legacy'), { 'e|m1': '16', 't|m1': 'cats', 'a|-': '9' });
    const app = await startApp({ keyPrefix: prefix });
    try {
      await until(async () => (await redis.hGet(keys.meta, 'posts')) === '0.8', 10_000, 'posts moved');
      expect(await redis.exists(keys.posts('x:legacy'))).toBe(0);
      expect(await postsOf(redis, keys, 'x:legacy')).toEqual({ m1: { e: 16, a: 0, topics: 'cats', bytes: 1 + 8 + 4 }, '-': { e: 0, a: 9, topics: '', bytes: 1 + 8 } });
      await postEvents(app.url, [{ id: 'lg1', network: 'x', type: 'like', actor: 'fan', target: 'legacy', post: 'm1', ts: Date.now() }]);
      await scored(app, 1);
      const m1 = (await postsOf(redis, keys, 'x:legacy')).m1!;
      expect(m1.e).toBeGreaterThan(16);
      expect(m1.topics).toBe('cats');
    } finally {
      await app.close();
    }
  });

  it('a score write gives each chunk’s changes as soon as that chunk is stored, before the pass ends', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const T = Date.UTC(2026, 0, 10, 12);
    const n = 2 * WRITE_CHUNK + 100;
    const events = Array.from({ length: n }, (_, k) => ({ id: `ch${k}`, network: 'x', type: 'reply' as const, actor: 'fan', target: `t${k}`, post: 'p', topics: undefined, ts: T + k }));
    await store.apply(aggregate(events, P).values(), '', '1-0', T + n);
    let ended = false;
    const seen: { ids: string[]; endedYet: boolean; stored: boolean }[] = [];
    const calls: Promise<void>[] = [];
    const pass = store.rescoreDirty((changes) => {
      const ids = changes.map((c) => c.id);
      const entry = { ids, endedYet: ended, stored: false };
      seen.push(entry);
      // What a live client reads on this update is there already.
      calls.push(
        Promise.all(ids.map((id) => redis.hGet(keys.score(id), 's'))).then((scores) => {
          entry.stored = scores.every((s, i) => Number(s) === changes[i]!.score);
        }),
      );
    });
    const all = await pass.then((c) => ((ended = true), c));
    await Promise.all(calls);
    expect(seen.length).toBe(3);
    expect(seen.every((c) => !c.endedYet && c.stored)).toBe(true);
    expect(seen.flatMap((c) => c.ids)).toEqual(all.map((c) => c.id));
    // Every target and the one actor: n + 1 entities in chunks of WRITE_CHUNK.
    expect(all.length).toBe(n + 1);
  });

  it('a pass over many entities goes in WRITE_PASS_CHUNKS chunks, none past WRITE_CHUNK_MAX; the watched still first, in chunks of WRITE_CHUNK', async () => {
    expect([1, 2 * WRITE_CHUNK, WRITE_PASS_CHUNKS * WRITE_CHUNK].map(chunkSize)).toEqual([WRITE_CHUNK, WRITE_CHUNK, WRITE_CHUNK]);
    expect(chunkSize(WRITE_PASS_CHUNKS * WRITE_CHUNK + 1)).toBe(WRITE_CHUNK + 1);
    expect(chunkSize(100 * WRITE_CHUNK_MAX)).toBe(WRITE_CHUNK_MAX);
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const T = Date.UTC(2026, 0, 10, 12);
    // Every target and the one actor: n + 1 entities, three of them watched.
    const n = 2 * WRITE_PASS_CHUNKS * WRITE_CHUNK;
    const events = Array.from({ length: n }, (_, k) => ({ id: `big${k}`, network: 'x', type: 'reply' as const, actor: 'fan', target: `t${k}`, post: 'p', topics: undefined, ts: T + k }));
    await store.apply(aggregate(events, P).values(), '', '1-0', T + n);
    const watchedIds = new Set(['x:t7', 'x:t1234', `x:t${n - 1}`]);
    const chunks: string[][] = [];
    const all = await store.rescoreDirty((changes) => chunks.push(changes.map((c) => c.id)), (id) => watchedIds.has(id));
    expect(all.length).toBe(n + 1);
    expect([...chunks[0]!].sort()).toEqual([...watchedIds].sort());
    const size = Math.ceil((n + 1 - watchedIds.size) / WRITE_PASS_CHUNKS);
    expect(size).toBeGreaterThan(WRITE_CHUNK);
    expect(chunks.slice(1).map((c) => c.length)).toEqual([...Array.from({ length: WRITE_PASS_CHUNKS - 1 }, () => size), n + 1 - watchedIds.size - (WRITE_PASS_CHUNKS - 1) * size]);
    expect(await redis.sCard(keys.dirtyTaken)).toBe(0);
  });

  it('a score write stores the entities someone watches first, in a chunk of their own, with the same scores', async () => {
    const P = modelParams(30);
    const T = Date.UTC(2026, 0, 10, 12);
    const n = 2 * WRITE_CHUNK + 100;
    const events = Array.from({ length: n }, (_, k) => ({ id: `wf${k}`, network: 'x', type: 'reply' as const, actor: 'fan', target: `t${k}`, post: 'p', topics: undefined, ts: T + k }));
    // Ids that sort last, and one in the middle: written first all the same.
    const watchedIds = new Set(['x:t599', 'x:t598', 'x:t3']);
    const pass = async (watched?: (id: string) => boolean) => {
      const keys = makeKeys(testPrefix());
      const store = createScoreStore(redis, keys, P);
      await store.apply(aggregate(events, P).values(), '', '1-0', T + n);
      const chunks: string[][] = [];
      const all = await store.rescoreDirty((changes) => chunks.push(changes.map((c) => c.id)), watched);
      return { chunks, all };
    };
    const first = await pass((id) => watchedIds.has(id));
    expect(first.chunks.length).toBe(4);
    expect([...first.chunks[0]!].sort()).toEqual([...watchedIds].sort());
    expect(first.chunks.slice(1).flat().some((id) => watchedIds.has(id))).toBe(false);
    // Nobody watching: the same scores, in the same chunks as before.
    const plain = await pass();
    expect(plain.chunks.length).toBe(3);
    const byId = (list: { id: string; score: number }[]) => Object.fromEntries(list.map((c) => [c.id, c.score]));
    expect(byId(first.all)).toEqual(byId(plain.all));
    expect(first.all.length).toBe(n + 1);
  });

  it('an apply scores and writes the watched entities its batch touched, a brand that claims one of its accounts among them, before it returns', async () => {
    const { keys, P, store, reads, entities } = storeOnKeysOfItsOwn();
    const T = Date.UTC(2026, 0, 10, 12);
    let k = 0;
    const reply = (actor: string, target: string) => ({ id: `lw${k++}`, network: 'x', type: 'reply' as const, actor, target, post: `${target}-p`, ts: T + k });
    await store.apply(aggregate([reply('f0', 'seen'), reply('f1', 'acme1'), reply('f2', 'other')], P).values(), '', '1-0', T + 10);
    await store.rescoreDirty();
    await entities.put('acme', { name: 'ACME', kind: 'brand', accounts: ['x:acme1'] });
    const before = Object.fromEntries(await Promise.all(['x:seen', 'acme', 'x:other'].map(async (id) => [id, (await reads.entity(id))!.score])));

    const changes: ScoreChange[] = [];
    const live: LiveWrite = { watched: (id) => id === 'x:seen' || id === 'acme', onWritten: (c) => changes.push(...c) };
    const batch = aggregate(['f3', 'f4', 'f5', 'f6'].flatMap((f) => [reply(f, 'seen'), reply(f, 'acme1'), reply(f, 'other')]), P);
    await store.apply(batch.values(), '1-0', '2-0', T + 20, live);
    // Sent before the apply returned, so before anything sent after it: the marks of the watched are gone with their write.
    const dirty = await redis.sMembers(keys.dirty);
    expect(dirty).toEqual(expect.arrayContaining(['x:other', 'x:acme1', 'x:f3']));
    expect(dirty).not.toContain('x:seen');
    expect(dirty).not.toContain('acme');
    await until(() => changes.length === 2 || undefined, 5_000, 'the live write\'s changes');
    for (const c of changes) {
      expect(c.score).toBeGreaterThan(before[c.id]!);
      // The state it carries is what the API reads.
      expect(c.entity).toEqual(await reads.entity(c.id));
    }
    expect(changes.map((c) => c.id).sort()).toEqual(['acme', 'x:seen']);
    // The unwatched wait for the score write.
    expect((await reads.entity('x:other'))!.score).toBe(before['x:other']);
    const rest = await store.rescoreDirty();
    expect(rest.map((c) => c.id)).toContain('x:other');
    expect(rest.map((c) => c.id)).not.toContain('x:seen');

    // Without `live`, nothing is written until the score write.
    await store.apply(aggregate([reply('f7', 'seen')], P).values(), '2-0', '3-0', T + 30);
    expect(await redis.sMembers(keys.dirty)).toContain('x:seen');
    await store.rescoreDirty();

    // After a restart Redis has no scripts: the live WRITE is sent again (EVAL after NOSCRIPT) an answer
    // later, behind the next batch's APPLY. It stores nothing then, and leaves the marks that APPLY set.
    await redis.scriptFlush();
    const late: ScoreChange[] = [];
    await store.apply(aggregate([reply('f8', 'seen')], P).values(), '3-0', '4-0', T + 40, { watched: (id) => id === 'x:seen', onWritten: (c) => late.push(...c) });
    await store.apply(aggregate([reply('f9', 'seen')], P).values(), '4-0', '5-0', T + 50);
    await redis.ping();
    expect(await redis.sMembers(keys.dirty)).toContain('x:seen');
    expect(late).toEqual([]);
    const final = await store.rescoreDirty();
    expect(final.find((c) => c.id === 'x:seen')?.score).toBe((await reads.entity('x:seen'))!.score);
    // Which a scorer's start prevents: it loads the scripts first.
    await redis.scriptFlush();
    await store.prepare();
    expect((await redis.scriptExists([APPLY.sha, TAKE.sha, WRITE.sha, SWEEP.sha])).map(Number)).toEqual([1, 1, 1, 1]);
  });

  it('keeps an account’s score record in its account hash, and moves the records an earlier version kept apart into it', async () => {
    const { keys, P, store, reads, entities } = storeOnKeysOfItsOwn();
    const T = Date.UTC(2026, 0, 10, 12);
    const events = ['solo', 'duo'].flatMap((who) => Array.from({ length: 4 }, (_, k) => ({ id: `${who}${k}`, network: 'x', type: 'reply' as const, actor: `fan${k}`, target: who, post: 'p', topics: undefined, ts: T + k })));
    await store.apply(aggregate(events, P).values(), '', '1-0', T + 10);
    await store.rescoreDirty();
    const solo = await redis.hGetAll(keys.account('x:solo'));
    // Left out: no topic qualifies ('topics'), no movement yet ('d'), the newest minute of a history kept in the field
    // ('hm'), and the scopes every account is in.
    expect(Object.keys(solo)).toEqual(expect.arrayContaining(['s', 'scopes', 's0', 's0t', 'hv', 'c', 'hs', 'u', 'at']));
    for (const f of ['topics', 'd', 'hm']) expect(solo[f], f).toBeUndefined();
    expect(solo.scopes).toBe('');
    expect(await redis.exists(keys.legacyScore('x:solo'))).toBe(0);
    const entity = await reads.entity('x:solo');
    expect(entity).toMatchObject({ id: 'x:solo', name: 'x:solo', score: Number(solo.s), rank: expect.any(Number), topics: [], updatedAt: new Date(T + 3).toISOString() });
    expect(await redis.zScore(keys.leaderboard('network:x'), 'x:solo')).toBe(Number(solo.s));

    // The same record as an earlier version kept it: a hash of its own, which copied the name (the id, for an account without one).
    await redis.hDel(keys.account('x:solo'), [...RECORD_FIELDS]);
    await redis.hSet(keys.legacyScore('x:solo'), { ...Object.fromEntries(RECORD_FIELDS.filter((f) => solo[f] !== undefined).map((f) => [f, solo[f]!])), s: solo.s!, name: 'x:solo' });
    expect(await moveEarlierLayouts(redis, keys)).toEqual({ posts: 0, records: 1, accounts: 0, scored: 0 });
    expect(await redis.exists(keys.legacyScore('x:solo'))).toBe(0);
    expect(await redis.hGetAll(keys.account('x:solo'))).toEqual(solo);
    expect(await reads.entity('x:solo')).toEqual(entity);

    // Claimed: the record and its history go, the account's own score (read at ingest) stays.
    await entities.put('soloco', { name: 'Solo Co', kind: 'brand', accounts: ['x:solo'] });
    const claimed = await redis.hGetAll(keys.account('x:solo'));
    for (const f of RECORD_FIELDS) expect(claimed[f], f).toBeUndefined();
    expect(claimed.s).toBe(solo.s);
    expect(await redis.exists(keys.history('x:solo'))).toBe(0);
    expect(await redis.zScore(keys.leaderboard('global'), 'x:solo')).toBeNull();
    await expect(reads.entity('x:solo')).rejects.toThrow(ClaimedAccountError);
    // Given back: a record again, with its own score.
    await entities.disconnect('soloco', 'x:solo');
    expect(await reads.entity('x:solo')).toMatchObject({ id: 'x:solo', score: Number(solo.s) });
    expect(await redis.zScore(keys.leaderboard('global'), 'x:solo')).toBe(Number(solo.s));
    expect((await reads.history('x:solo', '24h'))!.points.length).toBe(1);

    // Claimed again, its activity moves the entity alone: a score write sends no change of the account's own.
    await entities.put('soloco', { name: 'Solo Co', kind: 'brand', accounts: ['x:solo'] });
    expect((await store.resolve(['x:solo', 'soloco'])).map((e) => e?.claimedBy)).toEqual(['soloco', undefined]);
    await store.apply(aggregate([{ id: 'solo9', network: 'x', type: 'reply', actor: 'fan9', target: 'solo', post: 'p', ts: T + 9 }], P).values(), '1-0', '2-0', T + 10);
    expect((await store.rescoreDirty()).map((c) => c.id)).not.toContain('x:solo');
  });

  it('keeps minute and hour history in the record while small and in one set per entity past that, and moves the two sets of an earlier version into it', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const reads = createReads(redis, keys, store, P);
    const MIN = 60_000;
    const HOUR = 60 * MIN;
    const T0 = Date.UTC(2026, 0, 10, 12, 0, 30);
    let wm = '';
    let n = 0;
    const step = async (at: number, who: string) => {
      const events = Array.from({ length: 3 }, (_, k) => ({ id: `h${n}-${k}`, network: 'x', type: 'reply' as const, actor: `fan${n}-${k}`, target: who, post: 'hp', ts: at }));
      const next = `${++n}-0`;
      await store.apply(aggregate(events, P).values(), wm, next, at);
      wm = next;
      await store.rescoreDirty();
      return Number(await redis.hGet(keys.score(`x:${who}`), 's'));
    };
    const points = async (id: string, range: HistoryRange) => (await reads.history(id, range))!.points.map((p) => [Date.parse(p.t), p.score]);

    // A new entity: the minute and hour buckets of each move, newest bucket replaced within its minute or hour.
    const s1 = await step(T0, 'fresh');
    const s2 = await step(T0 + 20_000, 'fresh');
    const s3 = await step(T0 + 2 * MIN, 'fresh');
    const s4 = await step(T0 + 65 * MIN, 'fresh');
    expect(new Set([s1, s2, s3, s4]).size).toBe(4);
    const m0 = T0 - (T0 % MIN);
    const h0 = T0 - (T0 % HOUR);
    expect(await points('x:fresh', '24h')).toEqual([[m0, s2], [m0 + 2 * MIN, s3], [m0 + 65 * MIN, s4]]);
    expect(await points('x:fresh', '1h')).toEqual([[m0 + 65 * MIN, s4]]);
    expect(await points('x:fresh', '30d')).toEqual([[h0, s3], [h0 + HOUR, s4]]);
    // Two days on: the minutes older than a day go, the hours stay.
    const s5 = await step(T0 + 2 * 24 * HOUR, 'fresh');
    expect(await points('x:fresh', '24h')).toEqual([[m0 + 2 * 24 * HOUR, s5]]);
    expect(await points('x:fresh', '7d')).toEqual([[h0, s3], [h0 + HOUR, s4], [h0 + 48 * HOUR, s5]]);
    // Kept in the record while small.
    expect(await redis.exists([keys.history('x:fresh'), ...keys.legacyHistory('x:fresh')])).toBe(0);
    expect(await redis.hGet(keys.score('x:fresh'), 'hs')).toBe(`${m0 / MIN + 2880}:${s5};${h0 / HOUR}:${s3},${h0 / HOUR + 1}:${s4},${h0 / HOUR + 48}:${s5}`);


    // Written by an earlier version: minutes and hours in two sets, and no layout mark on the record.
    const [minutes, hours] = keys.legacyHistory('x:legacy');
    const old = T0 + 3 * 24 * HOUR;
    const om = old - (old % MIN);
    const oh = old - (old % HOUR);
    await redis.hSet(keys.score('x:legacy'), { s: '7.5', scopes: 'global,kind:person,network:x', hm: String(om), s0: '7.5', s0t: String(old) });
    await redis.zAdd(minutes, [{ score: om - MIN, value: `${om - MIN}:7.1` }, { score: om, value: `${om}:7.5` }]);
    await redis.zAdd(hours, [{ score: oh - HOUR, value: `${oh - HOUR}:6.0` }, { score: oh, value: `${oh}:7.5` }]);
    // Read as they are until the entity is written again...
    await step(old, 'other');
    expect(await points('x:legacy', '24h')).toEqual([[om - MIN, 7.1], [om, 7.5]]);
    expect(await points('x:legacy', '30d')).toEqual([[oh - HOUR, 6.0], [oh, 7.5]]);
    // ...then moved into the one set, with the new move beside them.
    const s6 = await step(old + 3 * MIN, 'legacy');
    expect(await redis.exists([minutes, hours])).toBe(0);
    expect(await points('x:legacy', '24h')).toEqual([[om - MIN, 7.1], [om, 7.5], [om + 3 * MIN, s6]]);
    expect(await points('x:legacy', '30d')).toEqual([[oh - HOUR, 6.0], [oh, s6]]);

    // Past HISTORY_FIELD_MAX bytes it becomes the sorted set, with the same points, and goes on there.
    const busy: [number, number][] = [];
    const b0 = T0 + 5 * 24 * HOUR;
    for (let i = 0; busy.length < 2 || (await redis.hExists(keys.score('x:busy'), 'hs')); i++) {
      expect(i).toBeLessThan(60);
      busy.push([b0 - (b0 % MIN) + i * MIN, await step(b0 + i * MIN, 'busy')]);
      if (i === 1) expect((await redis.hGet(keys.score('x:busy'), 'hs'))!.length).toBeLessThanOrEqual(HISTORY_FIELD_MAX);
    }
    expect(await redis.exists(keys.history('x:busy'))).toBe(1);
    busy.push([b0 - (b0 % MIN) + busy.length * MIN, await step(b0 + busy.length * MIN, 'busy')]);
    expect(new Set(busy.map(([, x]) => x)).size).toBe(busy.length);
    expect(await points('x:busy', '24h')).toEqual(busy);
    const bh = b0 - (b0 % HOUR);
    const hourly = [...new Map(busy.map(([t, x]) => [t - (t % HOUR), x])).entries()].filter(([t]) => t >= bh);
    expect(await points('x:busy', '7d')).toEqual(hourly);
    expect(await redis.hGet(keys.score('x:busy'), 'hs')).toBeNull();

    // A scorer's start moves a small sorted set into the record (0.9 kept every history in one), and leaves a big one.
    const ranges: HistoryRange[] = ['24h', '30d'];
    const all = async () => Promise.all(['x:fresh', 'x:legacy', 'x:busy'].flatMap((id) => ranges.map((r) => points(id, r))));
    const read = await all();
    expect(await redis.hGet(keys.score('x:legacy'), 'hs')).toBeNull();
    expect(await moveEarlierLayouts(redis, keys)).toMatchObject({ accounts: 1 });
    expect(await redis.exists([keys.history('x:legacy'), keys.history('x:fresh')])).toBe(0);
    expect(await redis.hGet(keys.score('x:legacy'), 'hs')).toMatch(/^\d+:[\d.]+(,\d+:[\d.]+)*;\d+:[\d.]+(,\d+:[\d.]+)*$/);
    expect(await redis.exists(keys.history('x:busy'))).toBe(1);
    expect(await all()).toEqual(read);
  });

  it("keeps a score record's components in one field, and moves the fields of an earlier version into it on its next write", async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const reads = createReads(redis, keys, store, P);
    const T0 = Date.UTC(2026, 0, 10, 12);
    const step = async (n: number, type: 'reply' | 'click') => {
      const events = Array.from({ length: 4 }, (_, k) => ({ id: `c${n}-${k}`, network: 'x', type, actor: `fan${n}-${k}`, target: 'packed', post: 'cp', ts: T0 + n * 60_000 }));
      await store.apply(aggregate(events, P).values(), n === 0 ? '' : `${n}-0`, `${n + 1}-0`, T0 + n * 60_000);
      await store.rescoreDirty();
      return reads.entity('x:packed');
    };
    const first = (await step(0, 'reply'))!;
    const record = await redis.hGetAll(keys.score('x:packed'));
    expect(record.hv).toBe('3');
    expect(Object.keys(record).filter((k) => k.startsWith('c:'))).toEqual([]);
    // Trailing zeros left out: reach and engagement, nothing after.
    expect(record.c).toBe(`${first.components.reach},${first.components.engagement}`);
    expect(first.components.engagement).toBeGreaterThan(0);
    expect(first.components).toMatchObject({ amplification: 0, outcomes: 0, endorsements: 0 });

    // The same record as 0.7.1 kept it: a field per component, layout 2. Read as it is...
    await redis.hDel(keys.score('x:packed'), 'c');
    await redis.hSet(keys.score('x:packed'), { hv: '2', at: String(T0), ...Object.fromEntries(COMPONENT_NAMES.map((c) => [`c:${c}`, String(first.components[c])])) });
    expect((await reads.entity('x:packed'))!.components).toEqual(first.components);
    // ...and packed on its next write, the old fields gone.
    const next = (await step(1, 'click'))!;
    expect(next.components.outcomes ?? 0).toBeGreaterThan(first.components.outcomes ?? 0);
    const moved = await redis.hGetAll(keys.score('x:packed'));
    expect(moved.hv).toBe('3');
    expect(Object.keys(moved).filter((k) => k.startsWith('c:'))).toEqual([]);
    // 0.7.1's 'at' (which nothing read) is the scoring time again, as the decay sweep reads it.
    expect(moved.at).toBe(String(T0 + 60_000));
    expect(moved.c).toBe(packComponents(next.components as ReturnType<typeof unpackComponents>));
    expect(unpackComponents(moved)).toEqual(next.components);
    // The history written under layout 2 is still read (layouts 2 and 3 share it).
    expect((await reads.history('x:packed', '24h'))!.points.length).toBe(2);
  });

  it('writes the fields of a score record that change, and only those, whether or not the score moves', async () => {
    const keys = makeKeys(testPrefix());
    const P = modelParams(30);
    const store = createScoreStore(redis, keys, P);
    const T0 = Date.UTC(2026, 0, 10, 12);
    let n = 0;
    const apply = async (events: object[], at: number) => {
      await store.apply(aggregate(events as never, P).values(), n === 0 ? '' : `${n}-0`, `${n + 1}-0`, at);
      n += 1;
      await store.rescoreDirty();
      // An account's record: the score and the record's fields of its account hash, and the name it shares.
      const h = await redis.hGetAll(keys.score('x:renamed'));
      return Object.fromEntries(Object.entries(h).filter(([k]) => ['s', 'name', ...RECORD_FIELDS].includes(k)));
    };
    const profile = (name: string, at: number) => ({ id: `pr-${at}`, network: 'x', type: 'profile', actor: 'renamed', name, followers: 1000, ts: at });
    const first = await apply([profile('Old Name', T0), ...Array.from({ length: 3 }, (_, k) => ({ id: `r${k}`, network: 'x', type: 'reply', actor: `fan${k}`, target: 'renamed', post: 'rp', ts: T0 }))], T0);
    expect(first.name).toBe('Old Name');
    // A new name, the same audience, the same clock: the score stays, the name and the time of the update move.
    const renamed = await apply([profile('New Name', T0 + 1000)], T0);
    expect(renamed.s).toBe(first.s);
    expect(renamed.name).toBe('New Name');
    expect(renamed.u).toBe(String(T0 + 1000));
    expect({ ...renamed, name: first.name, u: first.u }).toEqual(first);
    // Every field the write sets holds what a full write would have put there: the score moved, so do the components.
    const moved = await apply(Array.from({ length: 5 }, (_, k) => ({ id: `c${k}`, network: 'x', type: 'click', actor: `buyer${k}`, target: 'renamed', post: 'rp', ts: T0 + 2000 })), T0 + 2000);
    expect(Number(moved.s)).toBeGreaterThan(Number(first.s));
    const [e] = await store.resolve(['x:renamed']);
    const want = scoreAccounts(e!.accounts, T0 + 2000, P);
    expect(moved.c).toBe(packComponents(want.components));
    expect(unpackComponents(moved)).toEqual(want.components);
    expect(want.topics).toEqual([]);
    expect(moved.topics).toBeUndefined();
    // The movement over the last day (the leaderboards' `delta`): against the first score, all within one minute;
    // a movement of 0 is left out.
    expect(first.d).toBeUndefined();
    expect(moved.d).toBe((Math.round((Number(moved.s) - Number(first.s)) * 10) / 10).toFixed(1));
    const board = await createReads(redis, keys, store, P).leaderboard('global', 10, 0);
    expect(board.entries.find((x) => x.id === 'x:renamed')?.delta).toBe(Number(moved.d));
  });

  it('leaves out the times of the follower count and the name while they equal the first sight, and writes them out when the first sight moves earlier', async () => {
    const { keys, P, store } = storeOnKeysOfItsOwn();
    const mirror = new MemoryState();
    const T0 = Date.UTC(2026, 0, 10, 12);
    let n = 0;
    const apply = async (events: object[]) => {
      const deltas = aggregate(events as never, P);
      mirror.apply(deltas.values());
      await store.apply(deltas.values(), n === 0 ? '' : `${n}-0`, `${n + 1}-0`, T0 + 10 * 60_000);
      n += 1;
      const h = await redis.hGetAll(keys.account('x:star'));
      const snap = parseAccount('x:star', h);
      // The state always agrees with the mirror of APPLY's arithmetic.
      expect({ name: snap.name, followers: snap.followers, first: snap.first }).toEqual({
        name: mirror.snapshot('x:star').name,
        followers: mirror.snapshot('x:star').followers,
        first: mirror.snapshot('x:star').first,
      });
      return h;
    };
    const profile = (id: string, at: number, name: string, followers: number) => ({ id, network: 'x', type: 'profile', actor: 'star', name, followers, ts: at });
    // First seen in its profile: both times are the first sight, left out.
    let h = await apply([profile('p1', T0, 'Star', 100)]);
    expect(h).toMatchObject({ first: String(T0), name: 'Star', f: '100' });
    expect(h.fts).toBeUndefined();
    expect(h.nts).toBeUndefined();
    // A profile as old as the first sight with a smaller count, or older still, changes nothing.
    h = await apply([profile('p2', T0, 'Star', 90)]);
    expect(h).toMatchObject({ name: 'Star', f: '100' });
    // An earlier first sight, as an actor only: the times left out are written out as the old first sight.
    h = await apply([{ id: 'l1', network: 'x', type: 'like', actor: 'star', target: 'other', post: 'o1', ts: T0 - 60_000 }]);
    expect(h).toMatchObject({ first: String(T0 - 60_000), fts: String(T0), nts: String(T0) });
    // So a profile between the two first sights is older than the one kept, and changes nothing.
    h = await apply([profile('p3', T0 - 30_000, 'Between', 5)]);
    expect(h).toMatchObject({ name: 'Star', f: '100', fts: String(T0), nts: String(T0) });
    // A newer profile, and an earlier first sight in a delta that changes state (engaged), in one batch.
    h = await apply([
      { id: 'r1', network: 'x', type: 'reply', actor: 'fan', target: 'star', post: 's1', ts: T0 - 120_000 },
      profile('p4', T0 + 60_000, 'Star Two', 200),
    ]);
    expect(h).toMatchObject({ first: String(T0 - 120_000), name: 'Star Two', f: '200', fts: String(T0 + 60_000), nts: String(T0 + 60_000) });
    // The same for times left out: an earlier first sight in a delta that changes state writes them out.
    const T1 = T0 + 7_200_000;
    const fresh = async (events: object[]) => {
      await store.apply(aggregate(events as never, P).values(), `${n}-0`, `${n + 1}-0`, T1);
      n += 1;
      return redis.hGetAll(keys.account('x:fresh'));
    };
    expect(await fresh([{ id: 'f1', network: 'x', type: 'profile', actor: 'fresh', name: 'Fresh', followers: 7, ts: T1 }])).not.toHaveProperty('fts');
    expect(await fresh([{ id: 'f2', network: 'x', type: 'reply', actor: 'fan', target: 'fresh', post: 'f', ts: T1 - 60_000 }])).toMatchObject({ first: String(T1 - 60_000), fts: String(T1), nts: String(T1) });
    expect(await fresh([{ id: 'f3', network: 'x', type: 'profile', actor: 'fresh', name: 'Between', followers: 1, ts: T1 - 30_000 }])).toMatchObject({ name: 'Fresh', f: '7' });
    // A newer profile's time is written; an older one still changes nothing.
    h = await apply([profile('p5', T0 + 120_000, 'Star Three', 300), profile('p6', T0 - 600_000, 'Zed', 1)]);
    expect(h).toMatchObject({ first: String(T0 - 600_000), name: 'Star Three', f: '300', fts: String(T0 + 120_000) });
    // An account hash written before these times were left out holds them even when equal to 'first': a profile
    // of that time with a larger count (which wins a tie) leaves its time out and deletes the field.
    const T = T0 + 3_600_000;
    await redis.hSet(keys.account('x:older'), { first: String(T), f: '50', fts: String(T), name: 'Older', nts: String(T) });
    await store.apply(aggregate([{ id: 'o1', network: 'x', type: 'profile', actor: 'older', name: 'Older', followers: 60, ts: T }] as never, P).values(), `${n}-0`, `${n + 1}-0`, T);
    const older = await redis.hGetAll(keys.account('x:older'));
    expect(older).toMatchObject({ first: String(T), f: '60', name: 'Older', nts: String(T) });
    expect(older.fts).toBeUndefined();
  });

  it('a score record leaves out what it can read elsewhere, and writes it out when it differs', async () => {
    const keys = makeKeys(testPrefix());
    const write = async (id: string, s: string, fields: Record<string, string>, scopes: Record<string, string> = { global: s, 'network:x': s }) => {
      await redis.sAdd(keys.dirtyTaken, id);
      return WRITE.run(redis, [keys.dirtyTaken, keys.meta], [keys.base, String(T), '', JSON.stringify({ id, s, own: s, account: true, entity: false, remove: false, scopes, fields })]);
    };
    const T = Date.UTC(2026, 0, 10, 12);
    const rec = () => redis.hGetAll(keys.account('x:r'));
    // 'u' is the activity the score covers, kept even when an apply has moved the account on since (the API's
    // updatedAt, from which live clients measure how late an update is).
    await redis.hSet(keys.account('x:r'), { first: String(T - 5000), last: String(T) });
    await write('x:r', '10', { u: String(T - 5000), topics: '', c: '10' });
    expect((await rec()).u).toBe(String(T - 5000));
    // Topics: '' is none, left out; a record that had some loses the field.
    await write('x:r', '10', { u: String(T - 5000), topics: 'cats|50|2|2|3|0', c: '10' }, { global: '10', 'network:x': '10', 'topic:cats': '50' });
    expect(await rec()).toMatchObject({ topics: 'cats|50|2|2|3|0', scopes: 'topic:cats' });
    expect(await redis.zScore(keys.leaderboard('topic:cats'), 'x:r')).toBe(50);
    const reads = createReads(redis, keys, createScoreStore(redis, keys, modelParams(30)), modelParams(30));
    const topics = [{ topic: 'cats', score: 50, evidence: { posts: 2, days: 2, engagers: 3, endorsements: 0 } }];
    expect((await reads.entity('x:r'))!.topics).toEqual(topics);
    // As versions before 0.11 kept them, JSON: read alike.
    await redis.hSet(keys.account('x:r'), 'topics', JSON.stringify(topics));
    expect((await reads.entity('x:r'))!.topics).toEqual(topics);
    await write('x:r', '10', { u: String(T - 5000), topics: '', c: '10' });
    expect((await rec()).topics).toBeUndefined();
    expect((await reads.entity('x:r'))!.topics).toEqual([]);
    expect((await rec()).scopes).toBe('');
    expect(await redis.zScore(keys.leaderboard('topic:cats'), 'x:r')).toBeNull();
    // The scopes every account is in are never listed, and still left when it leaves them (claimed).
    expect([await redis.zScore(keys.leaderboard('global'), 'x:r'), await redis.zScore(keys.leaderboard('network:x'), 'x:r')]).toEqual([10, 10]);
    await redis.sAdd(keys.dirtyTaken, 'x:r');
    await WRITE.run(redis, [keys.dirtyTaken, keys.meta], [keys.base, String(T), '', JSON.stringify({ id: 'x:r', s: '10', own: '10', account: true, entity: false, remove: true, scopes: {}, fields: {} })]);
    expect([await redis.zScore(keys.leaderboard('global'), 'x:r'), await redis.zScore(keys.leaderboard('network:x'), 'x:r')]).toEqual([null, null]);
    // The first score and its time go once a day of event time has passed (never read again after that).
    await write('x:s', '10', { u: String(T), c: '10' });
    expect(await redis.hmGet(keys.account('x:s'), ['s0', 's0t'])).toEqual(['10', String(T)]);
    await redis.sAdd(keys.dirtyTaken, 'x:s');
    await WRITE.run(redis, [keys.dirtyTaken, keys.meta], [keys.base, String(T + 86_400_001), '', JSON.stringify({ id: 'x:s', s: '12', own: '12', account: true, entity: false, remove: false, scopes: { global: '12', 'network:x': '12' }, fields: { u: String(T), c: '12' } })]);
    expect(await redis.hmGet(keys.account('x:s'), ['s0', 's0t', 'd'])).toEqual([null, null, null]);
  });

  it('the decay sweep walks the global board, marks only records scored before the stale time, a bounded number a call, and goes on where it stopped', async () => {
    const keys = makeKeys(testPrefix());
    const T = Date.UTC(2026, 0, 10, 12);
    const ids = Array.from({ length: 300 }, (_, i) => `x:s${i}`);
    // Every third scored long ago; one registered entity among them, with a record of its own.
    for (const [i, id] of ids.entries()) await redis.hSet(keys.account(id), { s: '5', scopes: '', at: String(i % 3 === 0 ? T - 10_000 : T) });
    await redis.hSet(keys.score('brandy'), { s: '5', at: String(T - 10_000) });
    // One record without 'at' (not written since 0.10, had it not moved): stale.
    await redis.hSet(keys.account('x:noat'), { s: '5', scopes: '' });
    const all = [...ids, 'brandy', 'x:noat'];
    await redis.zAdd(keys.leaderboard('global'), all.map((value) => ({ value, score: 5 })));
    const stale = new Set([...ids.filter((_, i) => i % 3 === 0), 'brandy', 'x:noat']);
    const sweep = (look: number, limit: number) => SWEEP.run(redis, [keys.leaderboard('global'), keys.dirty, keys.meta], [keys.base, String(T - 5000), String(look), String(limit)]);
    // At most 'limit' marked a call; the walk goes on from its cursor and reaches every stale record.
    const marked = new Set<string>();
    for (let call = 0; call < 50 && marked.size < stale.size; call++) {
      const n = Number(await sweep(1000, 20));
      expect(n).toBeLessThanOrEqual(20);
      const dirty = await redis.sMembers(keys.dirty);
      expect(dirty.length).toBe(n);
      for (const id of dirty) marked.add(id);
      // Scored: a score write sets their time.
      for (const id of dirty) await redis.hSet(keys.score(id), 'at', String(T));
      await redis.del(keys.dirty);
    }
    expect([...marked].sort()).toEqual([...stale].sort());
    // Nothing is stale any more; then everything is (the clock moved on), and a call that may look at 10
    // entries marks no more than one ZSCAN step holds.
    await redis.hDel(keys.meta, 'sweep');
    expect(Number(await sweep(1000, 1000))).toBe(0);
    for (const id of all) await redis.hSet(keys.score(id), 'at', String(T - 10_000));
    const n = Number(await sweep(10, 1000));
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(all.length);
  });

  it('moves the sorted set of scoring times of an earlier version into the records when a scorer starts', async () => {
    const keys = makeKeys(testPrefix());
    const store = createScoreStore(redis, keys, modelParams(30));
    await redis.hSet(keys.account('x:m1'), { s: '5', scopes: 'global,network:x' });
    await redis.hSet(keys.score('brand'), { s: '6' });
    await redis.zAdd(keys.legacyScoredAt, [{ value: 'x:m1', score: 1000 }, { value: 'brand', score: 2000 }, { value: 'x:gone', score: 3000 }]);
    expect(await moveEarlierLayouts(redis, keys)).toMatchObject({ scored: 2 });
    expect([await redis.hGet(keys.account('x:m1'), 'at'), await redis.hGet(keys.score('brand'), 'at')]).toEqual(['1000', '2000']);
    // No record is made for an id that has none, and the set is gone; a second start does nothing.
    expect(await redis.exists([keys.account('x:gone'), keys.legacyScoredAt])).toBe(0);
    expect(await moveEarlierLayouts(redis, keys)).toMatchObject({ scored: 0 });
    // A score write keeps the time in the record.
    await redis.hSet(keys.meta, 'clock', '5000');
    await redis.sAdd(keys.dirty, 'x:m1');
    await store.rescoreDirty();
    expect(await redis.hGet(keys.account('x:m1'), 'at')).toBe('5000');
  });

  it('scores entities a crash left dirty between the two steps of an apply', async () => {
    const keys = makeKeys(testPrefix());
    const store = createScoreStore(redis, keys, modelParams(30));
    // State written by step 1, score never written: what a crash between the steps leaves.
    await redis.hSet(keys.account('x:d'), { f: '5000', last: String(Date.UTC(2026, 0, 1)), first: '1' });
    await redis.hSet(keys.meta, 'clock', String(Date.UTC(2026, 0, 1)));
    await redis.sAdd(keys.dirty, 'x:d');
    const changes = await store.rescoreDirty();
    expect(changes).toEqual([{ id: 'x:d', score: expect.any(Number), prev: null }]);
    expect(changes[0]!.score).toBeGreaterThan(1);
    expect(await redis.sCard(keys.dirty)).toBe(0);
    expect(await redis.sCard(keys.dirtyTaken)).toBe(0);
    expect(await redis.zScore(keys.leaderboard('global'), 'x:d')).toBe(changes[0]!.score);
    expect(await redis.hGet(keys.score('x:d'), 's')).toBe(String(changes[0]!.score));

    // A write that took its marks and died before scoring leaves them taken: the next write scores them too.
    await redis.hSet(keys.account('x:e'), { f: '90', last: String(Date.UTC(2026, 0, 1)), first: '1' });
    await redis.sAdd(keys.dirtyTaken, 'x:e');
    await redis.sAdd(keys.dirty, 'x:d');
    const again = await store.rescoreDirty();
    expect(again.map((c) => c.id)).toEqual(['x:e']);
    expect(await redis.hGet(keys.score('x:e'), 's')).toBe(String(again[0]!.score));
    expect(await redis.sCard(keys.dirty)).toBe(0);
    expect(await redis.sCard(keys.dirtyTaken)).toBe(0);
  });

  it('under load, one score write covers several batches, with the same scores as writing after every batch', async () => {
    // All at one event time, so that both ways score at the same clock.
    const at = ts(10);
    const events = Array.from({ length: 3000 }, (_, i) => ({
      id: `w${i}`,
      network: 'x',
      type: ['reply', 'share', 'like', 'mention'][i % 4]!,
      actor: `fan${i % 97}`,
      target: `star${i % 40}`,
      ...(i % 4 === 3 ? {} : { post: `s${i % 40}-${i % 3}` }),
      ts: at,
    }));
    const every = await startApp({ batchMaxSize: 50, writeEveryMs: 0 });
    const coalesced = await startApp({ batchMaxSize: 50, writeEveryMs: 200 });
    try {
      for (const a of [every, coalesced]) {
        expect((await postEvents(a.url, events)).body.accepted).toBe(events.length);
        await scored(a, events.length);
      }
      const s0 = every.app.pipeline!.stats;
      const s1 = coalesced.app.pipeline!.stats;
      expect(s0.writes).toBe(s0.batches);
      expect(s1.batches).toBeGreaterThanOrEqual(events.length / 50);
      expect(s1.writes).toBeLessThan(s1.batches / 2);
      const board = async (a: TestApp) =>
        ((await (await fetch(`${a.url}/api/leaderboard?limit=500`)).json()) as { entries: { id: string; score: number }[] }).entries.map((e) => `${e.id} ${e.score}`).sort();
      const b0 = await board(every);
      expect(b0.length).toBe(40 + 97);
      expect(await board(coalesced)).toEqual(b0);
    } finally {
      await every.close();
      await coalesced.close();
    }
  });

  it('with a long WRITE_EVERY_MS, neither the write the caught-up scorer asks for nor a stop waits it out', async () => {
    // Ten minutes between writes while entries wait, and batches of 5, so writes overlap applies and the loop waits between them.
    const a = await startApp({ batchMaxSize: 5, batchMaxWaitMs: 1, writeEveryMs: 600_000 });
    const total = 12_000;
    const events = Array.from({ length: total }, (_, k) => ({ id: `lw${k}`, network: 'x', type: 'like', actor: `f${k}`, target: `t${k % 300}`, ts: ts(1) }));
    try {
      for (let i = 0; i < total; i += 2000) expect((await postEvents(a.url, events.slice(i, i + 2000))).status).toBe(202);
      await scored(a, total);
      // A stop in the middle of a backlog: what was applied is written, and the rest stays in the stream for the next start.
      const writes = a.app.pipeline!.stats.writes;
      for (let i = 0; i < total / 2; i += 2000) await postEvents(a.url, events.slice(i, i + 2000).map((e) => ({ ...e, id: `${e.id}-again` })));
      // Best right after a write while entries still wait (the loop then waits for WRITE_EVERY_MS), though the stop may come before or after that wait.
      const t1 = performance.now();
      while (performance.now() - t1 < 10_000 && !(a.app.pipeline!.stats.writes > writes && a.app.pipeline!.stats.inFlight > 0)) await new Promise((r) => setTimeout(r, 2));
      const t0 = performance.now();
      await a.close();
      expect(performance.now() - t0).toBeLessThan(5_000);
      const stats = a.app.pipeline!.stats;
      expect(stats.eventsScored).toBe(stats.entriesAcked);
    } finally {
      await a.close();
    }
  });

  it('the scorer reads with NOACK: it leaves no pending list, and what it read and never applied is read again from the watermark after a restart', async () => {
    const opts = { keyPrefix: testPrefix() };
    const keys = makeKeys(opts.keyPrefix);
    const a = await startApp(opts);
    const ev = (i: number) => ({ id: `r${i}`, network: 'x', type: 'like', actor: `u${i}`, target: 'reread', ts: ts(5) });
    await postEvents(a.url, [ev(0), ev(1)]);
    await scored(a, 2);
    const [g] = await redis.xInfoGroups(keys.stream);
    expect(Number(g!.lag)).toBe(0);
    expect(Number(g!.pending)).toBe(0);
    await a.close();
    // A scorer that read two entries (the group's last delivered id moves past them) and died before applying them.
    const ingestOnly = await startApp({ ...opts, roles: new Set(['ingest']) });
    await postEvents(ingestOnly.url, [ev(2), ev(3)]);
    await ingestOnly.close();
    const read = await redis.xReadGroup(keys.group, 'dead-scorer', { key: keys.stream, id: '>' }, { COUNT: 10, NOACK: true });
    expect(read?.[0]?.messages.length).toBe(2);
    expect(Number((await redis.xInfoGroups(keys.stream))[0]!.lag)).toBe(0);
    const b = await startApp(opts);
    await scored(b, 2);
    expect(Number(await redis.hGet(keys.account('x:reread'), 'N'))).toBe(4);
    await b.close();
    // Read again once, not twice: the next start scores nothing more.
    const c = await startApp(opts);
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(c.app.pipeline!.stats.eventsScored).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('a scorer start drops the idle consumers of earlier processes that hold nothing, and keeps those that do', async () => {
    const keys = makeKeys(testPrefix());
    await redis.xGroupCreate(keys.stream, keys.group, '0', { MKSTREAM: true });
    await redis.xAdd(keys.stream, '*', { e: '{}' });
    await redis.xAdd(keys.stream, '*', { e: '{}' });
    await redis.xReadGroup(keys.group, 'old-noack', { key: keys.stream, id: '>' }, { COUNT: 1, NOACK: true });
    await redis.xReadGroup(keys.group, 'old-holding', { key: keys.stream, id: '>' }, { COUNT: 1 });
    await redis.xGroupCreateConsumer(keys.stream, keys.group, 'me');
    await new Promise((r) => setTimeout(r, 30));
    expect(await dropIdleConsumers(redis, keys, 'me', 10_000)).toBe(0);
    expect(await dropIdleConsumers(redis, keys, 'me', 20)).toBe(1);
    const left = (await redis.xInfoConsumers(keys.stream, keys.group)).map((c) => c.name).sort();
    expect(left).toEqual(['me', 'old-holding']);
  });

  it('entries an earlier version left pending (read without NOACK, never acknowledged) are applied exactly once, and the pending list is emptied', async () => {
    const opts = { keyPrefix: testPrefix() };
    const a = await startApp(opts);
    const ev = (i: number) => ({ id: `c${i}`, network: 'x', type: 'like', actor: `u${i}`, target: 'claimed', ts: ts(5) });
    await postEvents(a.url, [ev(0)]);
    await scored(a, 1);
    await a.close();
    // A consumer of an earlier version that read but died before XACK leaves entries pending.
    const keys = makeKeys(opts.keyPrefix);
    const ingestOnly = await startApp({ ...opts, roles: new Set(['ingest']) });
    await postEvents(ingestOnly.url, [ev(1), ev(2)]);
    await ingestOnly.close();
    await redis.xReadGroup(keys.group, 'dead-consumer', { key: keys.stream, id: '>' }, { COUNT: 10 });
    // The first entry, applied, pending too (as if its XACK had been lost).
    await redis.xClaim(keys.stream, keys.group, 'dead-consumer', 0, (await redis.xRange(keys.stream, '-', '+', { COUNT: 1 }))![0]!.id, { FORCE: true });
    expect((await redis.xPending(keys.stream, keys.group)).pending).toBe(3);
    const b = await startApp(opts);
    try {
      await scored(b, 2);
      expect((await redis.xPending(keys.stream, keys.group)).pending).toBe(0);
      const e = await (await fetch(`${b.url}/api/entities/x:claimed`)).json();
      expect(Number(await redis.hGet(keys.account('x:claimed'), 'N'))).toBe(3);
      expect(e.score).toBeGreaterThan(1);
    } finally {
      await b.close();
    }
  });
});
