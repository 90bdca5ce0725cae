/**
 * The process is killed (SIGKILL) in the middle of a stream of acknowledged
 * events, restarted, and the producer resends what it had no answer for (and,
 * being at-least-once, one batch it had). Every score must then equal that of
 * a clean run of the same events: nothing lost, nothing counted twice; and
 * the log (the archive on disk, then the stream) holds every event once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../server/infra/redis-server.js';
import { makeKeys } from '../../server/infra/keys.js';
import { modelParams } from '../../server/score/model.js';
import { archiveDirFor, archiveState, readArchive } from '../../server/score/archive.js';
import { compareStreamIds } from '../../server/pipeline/operators.js';
import { createScoreStore } from '../../server/score/store.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { postEvents, testPrefix, until } from '../helpers/app.js';

const BATCHES = 30;
const PER_BATCH = 100;
const T0 = Date.UTC(2026, 9, 1);
const TYPES = ['like', 'like', 'reply', 'share', 'mention', 'follow', 'unfollow', 'click', 'conversion'] as const;

function batch(b: number): object[] {
  return Array.from({ length: PER_BATCH }, (_, i) => {
    const k = b * PER_BATCH + i;
    const type = TYPES[k % TYPES.length]!;
    const base = { id: `ev-${k}`, network: 'x', actor: `u${(k * 7) % 97}`, ts: T0 + k * 1000 };
    // Profiles go to targets only: actors keep the floor score, so the weight of their engagement
    // (their score read at ingest, which depends on timing) is the same in both runs.
    if (k % 50 === 0) return { ...base, actor: `t${k % 23}`, type: 'profile', followers: 100 + k, name: `Target ${k % 23}` };
    return { ...base, type, target: `t${k % 23}`, ...(type === 'conversion' ? { value: k % 40 } : {}) };
  });
}

interface Proc {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

const archiveRoot = mkdtempSync(join(tmpdir(), 'resonance-crash-'));

async function startServer(prefix: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/server.ts'], {
    env: {
      ...process.env,
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BATCH_SIZE: '50',
      BATCH_WAIT_MS: '200',
      ARCHIVE_DIR: archiveRoot,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 30_000, `server on ${port} ready: ${out}`);
  return { child, url, exited };
}

async function drained(prefix: string, redis: RedisClient): Promise<void> {
  const keys = makeKeys(prefix);
  await until(async () => {
    const [wm, last] = await Promise.all([redis.hGet(keys.meta, 'wm'), redis.xInfoStream(keys.stream)]);
    return wm === last['last-generated-id'] ? true : undefined;
  }, 30_000, 'stream drained (the watermark at the last entry)');
}

/** Scores every entity at the (shared) final clock, then reads what must agree. */
async function state(prefix: string, redis: RedisClient): Promise<Map<string, Record<string, string>>> {
  const keys = makeKeys(prefix);
  await createScoreStore(redis, keys, modelParams(30)).rescoreAll();
  const out = new Map<string, Record<string, string>>();
  for (const id of await redis.zRange(keys.leaderboard('global'), 0, -1)) {
    const a = await redis.hGetAll(keys.account(id));
    const e = await redis.hGetAll(keys.score(id));
    out.set(id, { ...a, es: e.s!, topics: e.topics!, components: e.c! });
  }
  return out;
}

describe('crash in the middle of a stream', () => {
  let redis: RedisClient;
  const procs: Proc[] = [];
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
  });
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await redis.close();
    rmSync(archiveRoot, { recursive: true, force: true });
  });

  it('a killed and restarted server ends with exactly the scores of a clean run', async () => {
    const clean = testPrefix();
    let crashed = '';
    let acked = new Set<number>();
    // The kill must come while scoring is behind: some appended entries not yet applied. It nearly always does (the
    // last batch waits BATCH_WAIT_MS to fill), but a process held up between the last answer and the kill may find
    // the scorer caught up; such an attempt proves nothing, so it starts again on keys of its own.
    let interrupted = false;
    for (let attempt = 0; attempt < 5 && !interrupted; attempt++) {
      crashed = testPrefix();
      const a = await startServer(crashed);
      procs.push(a);
      acked = new Set<number>();
      for (let b = 0; b < 10; b++) {
        const r = await postEvents(a.url, batch(b));
        expect(r.body.accepted).toBe(PER_BATCH);
        acked.add(b);
      }
      // Batch 10 is in flight when the process dies; its answer may never come.
      const inFlight = postEvents(a.url, batch(10)).then(
        (r) => r.status === 202 && acked.add(10),
        () => false,
      );
      a.child.kill('SIGKILL');
      await a.exited;
      await inFlight;
      const k = makeKeys(crashed);
      const [wm, info] = await Promise.all([redis.hGet(k.meta, 'wm'), redis.xInfoStream(k.stream)]);
      interrupted = wm !== info['last-generated-id'];
    }
    // Scoring was interrupted: some appended entries were not yet applied and acknowledged.
    expect(interrupted).toBe(true);
    const keys = makeKeys(crashed);

    const b = await startServer(crashed);
    procs.push(b);
    let duplicates = 0;
    for (let i = 0; i < BATCHES; i++) {
      // At-least-once producer: resend everything without an answer, and batch 9 although it was answered.
      if (acked.has(i) && i !== 9) continue;
      const r = await postEvents(b.url, batch(i));
      expect(r.status).toBe(202);
      duplicates += r.body.duplicates;
    }
    expect(duplicates).toBeGreaterThanOrEqual(PER_BATCH);
    await drained(crashed, redis);

    const c = await startServer(clean);
    procs.push(c);
    for (let i = 0; i < BATCHES; i++) expect((await postEvents(c.url, batch(i))).body.accepted).toBe(PER_BATCH);
    await drained(clean, redis);

    const [after, reference] = await Promise.all([state(crashed, redis), state(clean, redis)]);
    expect(reference.size).toBeGreaterThan(100);
    expect([...after.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [id, ref] of reference) {
      const got = after.get(id)!;
      expect(got.es, id).toBe(ref.es);
      expect(got.s, id).toBe(ref.s);
      expect(got.components, id).toBe(ref.components);
      expect(got.topics, id).toBe(ref.topics);
      for (const f of Object.keys(ref).filter((k) => ['nf', 'last', 'first', 'f', 'name', 'N', 'D'].includes(k))) expect(got[f], `${id} ${f}`).toBe(ref[f]);
      // Each topic's posts, days, engagers and endorsers exactly; its value (a sum, perhaps in another order) to 1e-9 of itself.
      for (const f of Object.keys(ref).filter((k) => k.startsWith('t:'))) {
        const [g, r] = [got[f], ref[f]].map((v) => (v ?? '').split('|'));
        expect(g!.slice(0, 4).join('|'), `${id} ${f}`).toBe(r!.slice(0, 4).join('|'));
        const [gv, rv] = [Number(g![4] ?? 0), Number(r![4] ?? 0)];
        expect(Math.abs(gv - rv), `${id} ${f}`).toBeLessThanOrEqual(1e-9 * Math.abs(rv));
      }
      for (const f of ['E', 'A', 'O', 'K']) expect(Number(got[f] ?? 0)).toBeCloseTo(Number(ref[f] ?? 0), 6);
    }
    expect(await redis.zRangeWithScores(keys.leaderboard('global'), 0, -1)).toEqual(await redis.zRangeWithScores(makeKeys(clean).leaderboard('global'), 0, -1));

    // The log: what is archived (the killed process may have archived some) and then what the stream holds past it,
    // once the restarted process has archived what it scored (its lease waits for the killed one's to lapse).
    await until(async () => ((await archiveState(redis, keys)).n > 0 ? true : undefined), 30_000, 'archive caught up');
    const archive = await archiveState(redis, keys);
    const ids: string[] = [];
    for await (const chunk of readArchive(archiveDirFor(archiveRoot, crashed), archive)) for (const r of chunk) ids.push((JSON.parse(r.json) as { id: string }).id);
    const tail = ((await redis.xRange(keys.stream, '-', '+')) ?? []).filter((m) => compareStreamIds(m.id, archive.id) > 0);
    for (const m of tail) ids.push((JSON.parse(m.message.e!) as { id: string }).id);
    expect(ids.length).toBe(BATCHES * PER_BATCH);
    expect(new Set(ids).size).toBe(BATCHES * PER_BATCH);
    expect(archive.n).toBeGreaterThan(0);
  });
});
