/** POST /api/events against the real app and a real Redis: what is accepted, what is refused, and that refusals change nothing. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { makeKeys } from '../../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { createIngest } from '../../server/ingest/ingest.js';
import { postEvents, startApp as startTestApp, testPrefix, until, type TestApp } from '../helpers/app.js';

const TS = () => Date.now() - 60_000;
const like = (id: string, actor = 'fan', target = 'star') => ({ id, network: 'x', type: 'like', actor, target, post: 'p1', ts: TS() });

// The same contract whether the bodies are handled in the main thread (0) or in an intake thread (1).
describe.each([0, 1])('ingest over HTTP, %i intake threads', (ingestThreads) => {
  let t: TestApp;
  let keyed: TestApp;
  let redis: RedisClient;
  const streamLength = (prefix: string) => redis.xLen(makeKeys(prefix).stream);
  const startApp = (o: Parameters<typeof startTestApp>[0] = {}) => startTestApp({ ingestThreads, ...o });

  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
    t = await startApp();
    keyed = await startApp({ ingestKeys: ['ingest-secret'], adminKey: 'admin-secret' });
  });
  afterAll(async () => {
    await Promise.all([t.close(), keyed.close()]);
    await redis.close();
  });

  it('accepts one event, an array and NDJSON, durable in the stream when 202 answers', async () => {
    const one = await postEvents(t.url, like('one'));
    expect(one).toEqual({ status: 202, body: { accepted: 1, duplicates: 0, rejected: [] } });
    expect(await streamLength(t.prefix)).toBe(1);

    const many = await postEvents(t.url, [like('a1'), like('a2'), like('a3')]);
    expect(many.body).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    expect(await streamLength(t.prefix)).toBe(4);

    const res = await fetch(`${t.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: [like('n1'), like('n2')].map((e) => JSON.stringify(e)).join('\n') + '\n{broken\n' + JSON.stringify(like('n3')) + '\n',
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(3);
    expect(body.rejected).toEqual([{ index: 2, code: 'invalid_json', message: expect.any(String) }]);
    expect(await streamLength(t.prefix)).toBe(7);
  });

  it('acknowledges a repeated id as a duplicate and never appends it twice', async () => {
    const first = await postEvents(t.url, [like('dup-1'), like('dup-1'), like('dup-2')]);
    expect(first.body).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    const again = await postEvents(t.url, [like('dup-1'), like('dup-2')]);
    expect(again.body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
    // The same id on another network is another event.
    const other = await postEvents(t.url, { ...like('dup-1'), network: 'bluesky' });
    expect(other.body.accepted).toBe(1);
  });

  it('recognises an id for at least the deduplication window and at most twice it, across its two buckets', async () => {
    const keys = makeKeys(testPrefix());
    const WINDOW = 60;
    // 10 s into a bucket of the window.
    let now = (Math.floor(Date.now() / 1000 / WINDOW) - 5) * WINDOW * 1000 + 10_000;
    const ingest = createIngest(redis, keys, { windowSec: WINDOW, clock: () => now });
    const send = (...ids: string[]) => ingest.ingest(ids.map((id) => ({ ...like(id), ts: now - 1000 })));
    expect(await send('w1', 'w2')).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    // The next bucket: both still known (from the bucket before), a new one taken.
    now += WINDOW * 1000;
    expect(await send('w1', 'w3')).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    // Two buckets on: w1 and w2 are past the window, w3 (one bucket back) is not.
    now += WINDOW * 1000;
    expect(await send('w1', 'w2', 'w3')).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    expect(await redis.xLen(keys.stream)).toBe(5);
    // Each bucket expires by itself, after two windows and a minute.
    const ttl = await redis.ttl(keys.dedupe(Math.floor(now / 1000 / WINDOW)));
    expect(ttl).toBeGreaterThan(2 * WINDOW);
    expect(ttl).toBeLessThanOrEqual(2 * WINDOW + 60);
  });

  it('lists each rejected event with its index, code and message, and accepts the rest', async () => {
    const before = await streamLength(t.prefix);
    const res = await postEvents(t.url, [like('ok-1'), { ...like('bad-1'), network: 'X!' }, { id: 'bad-2' }, 'text', { ...like('bad-3'), ts: Date.now() + 3_600_000 }]);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'invalid_field'],
      [2, 'missing_field'],
      [3, 'not_an_object'],
      [4, 'ts_in_future'],
    ]);
    for (const r of res.body.rejected) expect(r.message.length).toBeGreaterThan(5);
    expect(await streamLength(t.prefix)).toBe(before + 1);
  });

  it('refuses bad requests with the right status and code, and changes nothing', async () => {
    const before = await streamLength(t.prefix);
    const post = (body: string, type: string, headers: Record<string, string> = {}) =>
      fetch(`${t.url}/api/events`, { method: 'POST', headers: { 'content-type': type, ...headers }, body }).then(async (r) => ({ status: r.status, body: await r.json() }));

    expect(await post('{"id": ', 'application/json')).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    expect(await post('', 'application/json')).toMatchObject({ status: 400, body: { error: { code: 'empty_body' } } });
    expect(await post(JSON.stringify(like('tp')), 'text/plain')).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
    expect(await post('a=b', 'application/x-www-form-urlencoded')).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
    const tooMany = JSON.stringify(Array.from({ length: 10_001 }, (_, i) => like(`m${i}`)));
    expect(await post(tooMany, 'application/json')).toMatchObject({ status: 413, body: { error: { code: 'too_many_events' } } });
    const huge = JSON.stringify([{ ...like('huge'), post: 'x'.repeat(17 * 1024 * 1024) }]);
    expect(await post(huge, 'application/json')).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    expect(await streamLength(t.prefix)).toBe(before);
  });

  it('takes exactly 10,000 events in one request', async () => {
    const res = await postEvents(t.url, Array.from({ length: 10_000 }, (_, i) => like(`max-${i}`, `fan${i % 50}`)));
    expect(res.body).toMatchObject({ accepted: 10_000, duplicates: 0, rejected: [] });
  });

  it('with keys configured, needs an ingest key (or the admin key); 401 otherwise, before the body is read', async () => {
    const before = await streamLength(keyed.prefix);
    expect(await postEvents(keyed.url, like('k1'))).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await postEvents(keyed.url, like('k1'), { authorization: 'Bearer nope' })).toMatchObject({ status: 401 });
    expect(await postEvents(keyed.url, like('k1'), { authorization: 'Bearer ingest-secre' })).toMatchObject({ status: 401 });
    expect(await postEvents(keyed.url, 'not json at all', { authorization: 'Basic x' })).toMatchObject({ status: 401 });
    expect(await streamLength(keyed.prefix)).toBe(before);
    expect(await postEvents(keyed.url, like('k1'), { authorization: 'Bearer ingest-secret' })).toMatchObject({ status: 202, body: { accepted: 1 } });
    expect(await postEvents(keyed.url, like('k2'), { authorization: 'Bearer admin-secret' })).toMatchObject({ status: 202, body: { accepted: 1 } });
    expect(await streamLength(keyed.prefix)).toBe(before + 2);
  });

  it('rejected input changes no score', async () => {
    const s = await startApp();
    try {
      await postEvents(s.url, [like('r1', 'a', 'target')]);
      const entity = await until(async () => {
        const r = await fetch(`${s.url}/api/entities/x:target`);
        return r.status === 200 ? r.json() : undefined;
      });
      await postEvents(s.url, [{ ...like('r2', 'b', 'target'), ts: 'yesterday' }, { ...like('r3', 'c', 'target'), extra: 1 }]);
      await postEvents(s.url, '{"id":"r4"', {});
      // A later valid event for another account proves the pipeline has passed the rejected ones.
      await postEvents(s.url, [like('r5', 'a', 'other')]);
      await until(async () => (await fetch(`${s.url}/api/entities/x:other`)).status === 200);
      expect(await (await fetch(`${s.url}/api/entities/x:target`)).json()).toEqual(entity);
    } finally {
      await s.close();
    }
  });

  it("stamps each appended event with its actor's current score (q), and 1 for an actor not scored yet", async () => {
    // A store written by an older version: account scores in a sorted set of their own, top posts per account and the person board, deleted after start.
    const prefix = testPrefix();
    const keys = makeKeys(prefix);
    await redis.zAdd(keys.legacyAccountScores, { score: 50, value: 'x:star' });
    await redis.zAdd(`${keys.base}po:x:star`, { score: 5, value: 'p0' });
    await redis.zAdd(keys.leaderboard('kind:person'), { score: 50, value: 'x:star' });
    const s = await startApp({ keyPrefix: prefix });
    try {
      await until(async () => (await redis.hGet(keys.meta, 'legacy')) === '0.9');
      expect(await redis.exists([keys.legacyAccountScores, `${keys.base}po:x:star`, keys.leaderboard('kind:person')])).toBe(0);
      // A star with replies and shares from many people: a score well above 1.
      const lift = Array.from({ length: 30 }, (_, k) => ({ id: `q${k}`, network: 'x', type: k % 2 ? 'reply' : 'share', actor: `fan${k}`, target: 'star', post: 'p1', ts: TS() }));
      await postEvents(s.url, lift);
      const star = await until(async () => {
        const r = await fetch(`${s.url}/api/entities/x:star`);
        return r.status === 200 ? ((await r.json()) as { score: number }) : undefined;
      });
      expect(star.score).toBeGreaterThan(1);
      await postEvents(s.url, [like('q-star', 'star', 'someone'), like('q-new', 'nobody-yet', 'someone')]);
      const entries = await redis.xRange(keys.stream, '-', '+');
      const field = (id: string, f: 'q' | 'f') => (entries ?? []).find((e) => (JSON.parse(e.message.e!) as { id: string }).id === id)?.message[f];
      expect(Number(field('q-star', 'q'))).toBe(star.score);
      expect(field('q-new', 'q')).toBe('1');
      // `f`: the actor's first sight as stored at ingest, empty for an actor not seen before.
      const starFirst = await redis.hGet(keys.account('x:star'), 'first');
      expect(field('q-star', 'f')).toBe(starFirst);
      expect(field('q-new', 'f')).toBe('');
      // An actor seen earlier than its stored first sight still moves it, stamp or not.
      await until(async () => (await redis.hGet(keys.account('x:nobody-yet'), 'first')) !== null);
      const earlier = Number(starFirst) - 3_600_000;
      await postEvents(s.url, [{ ...like('q-early', 'star', 'someone'), ts: earlier }]);
      await until(async () => (await redis.hGet(keys.account('x:star'), 'first')) === String(earlier));
    } finally {
      await s.close();
    }
  });

  it('brakes with 503 and Retry-After when scoring falls behind, and takes events again once it catches up', async () => {
    const prefix = `{brake${Date.now()}-${ingestThreads}}`;
    // An ingest-only process: nothing scores, so every accepted event adds to the lag.
    const front = await startApp({ keyPrefix: prefix, roles: new Set(['ingest']), maxLag: 10 });
    try {
      expect((await postEvents(front.url, Array.from({ length: 20 }, (_, i) => like(`brake-${i}`)))).body.accepted).toBe(20);
      await new Promise((r) => setTimeout(r, 250));
      const delay = async () => Number(/^resonance_scoring_delay_seconds ([\d.]+)$/m.exec(await (await fetch(`${front.url}/metrics`)).text())?.[1]);
      // Nothing scores them: the oldest has waited at least that long.
      expect(await delay()).toBeGreaterThanOrEqual(0.25);
      const before = await streamLength(prefix);
      const res = await fetch(`${front.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(like('brake-late')) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await res.json()).error.code).toBe('unavailable');
      expect(await streamLength(prefix)).toBe(before);
      // Refused before the body is parsed: a broken body gets the 503 too, not a 400.
      const broken = await fetch(`${front.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id": ' });
      expect(broken.status).toBe(503);
      // Streaming ingest: a frame is refused the same way, with the lag in the message, and nothing is appended.
      const ws = new WebSocket(`${front.url.replace('http', 'ws')}/ws/ingest`);
      await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
      const answer = new Promise<string>((ok) => ws.once('message', (m) => ok(String(m))));
      ws.send(JSON.stringify(like('brake-ws')));
      expect(JSON.parse(await answer)).toEqual({ type: 'error', error: { code: 'unavailable', message: expect.stringMatching(/^scoring is \d+ events behind/) } });
      ws.close();
      expect(await streamLength(prefix)).toBe(before);
      // A scorer drains the stream; ingest takes events again.
      const scorer = await startApp({ keyPrefix: prefix, roles: new Set(['score']) });
      try {
        await until(async () => (await postEvents(front.url, like('brake-later'))).status === 202 || undefined, 15_000, 'ingest to reopen');
        await until(async () => (await delay()) === 0 || undefined, 15_000, 'the scores to catch up');
      } finally {
        await scorer.close();
      }
    } finally {
      await front.close();
    }
  });
});

describe('intake threads', () => {
  let t: TestApp;
  let redis: RedisClient;
  const metric = async (url: string, name: string) => Number(new RegExp(`^${name} ([\\d.]+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1]);

  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
    t = await startTestApp({ ingestThreads: 2 });
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  it('take the bodies in turn, and the counters count what they accepted, found twice and rejected', async () => {
    expect(await metric(t.url, 'resonance_intake_threads')).toBe(2);
    // Three requests: the two threads each take one or two.
    for (const k of [1, 2, 3]) expect((await postEvents(t.url, [like(`turn-${k}`), like(`turn-${k}`), { id: 'bad' }])).body).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(await metric(t.url, 'resonance_events_accepted_total')).toBe(3);
    expect(await metric(t.url, 'resonance_events_duplicate_total')).toBe(3);
    expect(await metric(t.url, 'resonance_events_rejected_total')).toBe(3);
    expect(await redis.xLen(makeKeys(t.prefix).stream)).toBe(3);
    // And they are scored as any other.
    await until(async () => (await fetch(`${t.url}/api/entities/x:star`)).status === 200, 10_000, 'the score');
  });

  it('answer /ws/ingest frames once durable, and refuse a frame of too many events whole', async () => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws/ingest`);
    await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
    const answers: unknown[] = [];
    const got = (n: number) => until(() => answers.length >= n || undefined, 10_000, `${n} answers`);
    ws.on('message', (m) => answers.push(JSON.parse(String(m))));
    const before = await redis.xLen(makeKeys(t.prefix).stream);
    ws.send([like('ws-1'), like('ws-2')].map((e) => JSON.stringify(e)).join('\n'));
    ws.send(JSON.stringify(Array.from({ length: 10_001 }, (_, i) => like(`ws-many-${i}`))));
    ws.send(JSON.stringify(like('ws-1')));
    await got(3);
    ws.close();
    expect(answers).toEqual([
      { type: 'ack', accepted: 2, duplicates: 0, rejected: [] },
      { type: 'error', error: { code: 'too_many_events', message: '10001 events in one frame; at most 10000' } },
      { type: 'ack', accepted: 0, duplicates: 1, rejected: [] },
    ]);
    expect(await redis.xLen(makeKeys(t.prefix).stream)).toBe(before + 2);
  });

  it('a thread that stops is started again; until then the other takes every body, and with none a body gets 503 and nothing is stored', async () => {
    const threads = t.app.intakeThreads!;
    const [first] = threads.workers;
    await first!.terminate();
    expect(threads.running).toBe(1);
    // The one left takes every body meanwhile.
    for (const k of [1, 2, 3]) expect((await postEvents(t.url, like(`alone-${k}`))).body).toMatchObject({ accepted: 1 });
    await until(() => threads.running === 2 || undefined, 10_000, 'the thread to start again');
    expect(threads.workers).not.toContain(first);
    expect((await postEvents(t.url, like('after-restart'))).body).toMatchObject({ accepted: 1 });

    // With every thread stopped, a body is refused with 503 and Retry-After, and nothing is appended.
    const before = await redis.xLen(makeKeys(t.prefix).stream);
    await Promise.all(threads.workers.map((w) => w.terminate()));
    const res = await fetch(`${t.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(like('none-left')) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await res.json()).error.code).toBe('unavailable');
    expect(await redis.xLen(makeKeys(t.prefix).stream)).toBe(before);
    await until(() => threads.running === 2 || undefined, 10_000, 'both threads to start again');
    expect((await postEvents(t.url, like('none-left'))).body).toMatchObject({ accepted: 1 });
  });
});
