/**
 * A score write that has run for WRITE_PRIORITY_AFTER_MS (1 s; or
 * WRITE_EVERY_MS if longer) gets Redis to itself: the pipeline applies no
 * further batch until the write ends. (Left to compete,
 * each of a write's round trips queues behind an APPLY script, so under load
 * a write over a large dirty set took seconds, and with 4,000-event batches
 * writes fell behind for good.) The write is held open here by a store whose
 * rescoreDirty waits for the test; everything else is real.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeKeys } from '../../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { createIngest } from '../../server/ingest/ingest.js';
import { startPipeline, WRITE_PRIORITY_AFTER_MS, type Pipeline } from '../../server/pipeline/pipeline.js';
import { modelParams } from '../../server/score/model.js';
import { createScoreStore, type ScoreChange, type ScoreStore } from '../../server/score/store.js';
import { testPrefix, until } from '../helpers/app.js';

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child() { return silent; }, level: 'silent' } as unknown as FastifyBaseLogger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function events(from: number, to: number) {
  const ts = Date.now() - 60_000;
  return Array.from({ length: to - from }, (_, i) => ({ id: `wp-${from + i}`, network: 'x', type: 'like', actor: `fan${from + i}`, target: `acct${(from + i) % 3}`, post: 'post1', ts }));
}

describe('score writes under load', () => {
  let redis: RedisClient;
  let pipeline: Pipeline | null = null;

  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'write-priority');
  });
  afterAll(async () => {
    await pipeline?.stop();
    await redis.quit();
  });

  it('apply no further batch while a write that has run WRITE_PRIORITY_AFTER_MS is in progress, then go on and lose nothing', async () => {
    const keys = makeKeys(testPrefix());
    const params = modelParams(30);
    const real = createScoreStore(redis, keys, params);
    let gate: Promise<void> | null = null;
    let open = () => {};
    let held = 0;
    const store: ScoreStore = {
      ...real,
      rescoreDirty: async (onWritten) => {
        if (gate) {
          held++;
          await gate;
        }
        return real.rescoreDirty(onWritten);
      },
    };
    const ingest = createIngest(redis, keys, { windowSec: 600 });
    const changes = new Subject<ScoreChange[]>();
    pipeline = await startPipeline({ redisUrl: inject('redisUrl'), redis, keys, store, params, consumer: 'wp', batchMaxSize: 5, batchMaxWaitMs: 5, writeEveryMs: 50, log: silent, changes, sweepEveryMs: 60_000, sweepStaleMs: params.halfLifeMs / 720 });
    const stats = pipeline.stats;

    // The next write is held open.
    gate = new Promise((r) => (open = r));
    expect((await ingest.ingest(events(0, 5))).accepted).toBe(5);
    await until(() => held === 1, 5_000, 'the write after the first batch');
    const batches = stats.batches;
    expect(batches).toBeGreaterThanOrEqual(1);

    // Before WRITE_PRIORITY_AFTER_MS, batches still overlap the write.
    expect((await ingest.ingest(events(5, 10))).accepted).toBe(5);
    await until(() => stats.batches > batches, 5_000, 'a batch applied beside the write');
    const overlapped = stats.batches;
    await sleep(WRITE_PRIORITY_AFTER_MS + 100);

    // Past it, more batches arrive and reach the scorer, but none is applied while the write is held.
    expect((await ingest.ingest(events(10, 30))).accepted).toBe(20);
    await until(async () => Number((await redis.xInfoGroups(keys.stream))[0]?.lag) === 0 && stats.inFlight > 0, 5_000, 'the new entries delivered to the scorer');
    await sleep(300);
    expect(stats.batches).toBe(overlapped);
    expect(stats.eventsScored).toBe(0);

    // Released: the write ends, the waiting batches are applied and written, and every event is scored.
    gate = null;
    open();
    await until(() => stats.eventsScored === 30, 5_000, 'all 30 events scored');
    expect(stats.batches).toBeGreaterThan(overlapped);
    // The held batch's wait, and the held write's time, are counted (resonance_apply_waited_seconds_total, resonance_score_write_seconds_total).
    expect(stats.applyWaitedSecondsTotal).toBeGreaterThanOrEqual(0.25);
    expect(stats.writeSecondsTotal).toBeGreaterThanOrEqual((WRITE_PRIORITY_AFTER_MS + 400) / 1000);
    const likes = await Promise.all([0, 1, 2].map((k) => redis.hGet(keys.score(`x:acct${k}`), 's')));
    for (const s of likes) expect(Number(s)).toBeGreaterThan(0);
  });
});
