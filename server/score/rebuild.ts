/**
 * Rebuild: replays the durable stream into an empty score state. The event
 * log, the deduplication window and the entity registry are kept; every
 * derived key (account state, scores, leaderboards, history) is deleted, the
 * consumer group is reset to the start of the stream, the pipeline applies
 * every entry, and every entity is scored at the final clock. Because each
 * entry carries the weight its actor had at ingest, the replay reaches the
 * same state as the live run.
 */
import { Subject } from 'rxjs';
import type { FastifyBaseLogger } from 'fastify';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { startPipeline } from '../pipeline/pipeline.js';
import type { ModelParams } from './model.js';
import { createScoreStore } from './store.js';

export interface RebuildResult {
  entries: number;
  entities: number;
  seconds: number;
}

export class ScorerActiveError extends Error {}

/** Consumers of the group that read within `idleMs`: a live scorer would race the rebuild. */
export async function activeScorers(redis: RedisClient, keys: Keys, idleMs = 10_000): Promise<string[]> {
  try {
    const consumers = await redis.xInfoConsumers(keys.stream, keys.group);
    return consumers.filter((c) => Number(c.idle) < idleMs).map((c) => String(c.name));
  } catch {
    return [];
  }
}

export async function deleteDerived(redis: RedisClient, keys: Keys): Promise<number> {
  let n = 0;
  for (const prefix of keys.derived) {
    const exact = !prefix.endsWith(':');
    if (exact) {
      n += await redis.unlink(prefix);
      continue;
    }
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (batch.length > 0) n += await redis.unlink(batch);
    }
  }
  return n;
}

export async function rebuild(opts: {
  redis: RedisClient;
  redisUrl: string;
  keys: Keys;
  params: ModelParams;
  log: FastifyBaseLogger;
  force?: boolean;
  batchMaxSize?: number;
}): Promise<RebuildResult> {
  const { redis, keys, params, log } = opts;
  const t0 = performance.now();
  const active = await activeScorers(redis, keys);
  if (active.length > 0 && !opts.force) {
    throw new ScorerActiveError(`scorers are running (${active.join(', ')}); stop them first, or pass --force`);
  }
  await redis.xGroupDestroy(keys.stream, keys.group).catch(() => 0);
  const deleted = await deleteDerived(redis, keys);
  log.info({ deleted }, 'rebuild: derived keys deleted');
  const entries = await redis.xLen(keys.stream);
  const newest = entries > 0 ? await redis.xRevRange(keys.stream, '+', '-', { COUNT: 1 }) : [];
  const last = newest?.[0]?.id ?? '';
  const store = createScoreStore(redis, keys, params);
  const pipeline = await startPipeline({
    redisUrl: opts.redisUrl,
    redis,
    keys,
    store,
    params,
    consumer: `rebuild-${process.pid}`,
    batchMaxSize: opts.batchMaxSize ?? 1000,
    batchMaxWaitMs: 5,
    // Everything is scored again at the end: write rarely on the way.
    writeEveryMs: 1000,
    log,
    changes: new Subject(),
    sweepEveryMs: 3_600_000,
    sweepStaleMs: Number.MAX_SAFE_INTEGER,
  });
  try {
    while (last !== '' && (await store.watermark()) !== last) {
      if (pipeline.stats.lastError) log.warn({ error: pipeline.stats.lastError }, 'rebuild: pipeline error, retrying');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await pipeline.stop();
  }
  await store.rescoreAll();
  const entities = await redis.zCard(keys.scoredAt);
  return { entries, entities, seconds: (performance.now() - t0) / 1000 };
}
