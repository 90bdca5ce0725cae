/**
 * Rebuild: replays the durable log into an empty score state. The event
 * log (the archive on disk and the stream), the deduplication window and
 * the entity registry are kept; every derived key (account state, scores,
 * leaderboards, history) is deleted; the archived entries are applied in
 * order, then the consumer group is reset and the pipeline applies what the
 * stream holds past them; every entity is then scored at the final clock.
 * Because each entry carries the weight its actor had at ingest, the replay
 * reaches the same state as the live run.
 */
import { Subject } from 'rxjs';
import type { FastifyBaseLogger } from 'fastify';
import { DEFAULT_BATCH_SIZE } from '../config.js';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { aggregateBatch, compareStreamIds, decodeEntry } from '../pipeline/operators.js';
import { startPipeline } from '../pipeline/pipeline.js';
import { archiveState, readArchive } from './archive.js';
import type { ModelParams } from './model.js';
import { createScoreStore } from './store.js';

export interface RebuildResult {
  /** Entries replayed, archived ones included. */
  entries: number;
  /** Of which from the archive on disk. */
  archived: number;
  entities: number;
  seconds: number;
}

export class ScorerActiveError extends Error {}

/** The archive the rebuild would need is not there, or not whole: nothing was changed. */
export class ArchiveMissingError extends Error {}

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
  /** Where the archived part of the log is (the server's archive directory for this key prefix). */
  archiveDir?: string;
}): Promise<RebuildResult> {
  const { redis, keys, params, log } = opts;
  const t0 = performance.now();
  const batch = opts.batchMaxSize ?? DEFAULT_BATCH_SIZE;
  const active = await activeScorers(redis, keys);
  if (active.length > 0 && !opts.force) {
    throw new ScorerActiveError(`scorers are running (${active.join(', ')}); stop them first, or pass --force`);
  }
  // The archive is checked whole before anything is deleted.
  const archive = await archiveState(redis, keys);
  if (archive.n > 0) {
    if (!opts.archiveDir) throw new ArchiveMissingError(`${archive.n} events of the log are archived on disk: give the archive directory (ARCHIVE_DIR)`);
    let found = 0;
    try {
      for await (const chunk of readArchive(opts.archiveDir, archive, 10_000)) found += chunk.length;
    } catch (err) {
      throw new ArchiveMissingError(`the archive in ${opts.archiveDir} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (found !== archive.n) throw new ArchiveMissingError(`the archive in ${opts.archiveDir} holds ${found} events where ${archive.n} were archived: run the rebuild where the whole archive is`);
  }
  await redis.xGroupDestroy(keys.stream, keys.group).catch(() => 0);
  const deleted = await deleteDerived(redis, keys);
  log.info({ deleted }, 'rebuild: derived keys deleted');
  const store = createScoreStore(redis, keys, params);

  // The archived part, in stream order, batch by batch (the dirty marks pile up until every entity is scored at the end).
  let watermark = '';
  if (archive.n > 0) {
    for await (const raw of readArchive(opts.archiveDir!, archive, batch)) {
      const decoded = raw.map(decodeEntry);
      const b = aggregateBatch({ ids: raw.map((r) => r.id), first: raw[0]!.id, last: raw[raw.length - 1]!.id, events: decoded.flatMap((d) => (d.event ? [d.event] : [])) }, params);
      await store.apply(b.deltas.values(), watermark, b.last, b.clock);
      watermark = b.last;
    }
    log.info({ events: archive.n }, 'rebuild: archive applied');
  }

  // Then the stream, past what the archive held (entries at or below the watermark are skipped).
  const inStream = await redis.xLen(keys.stream);
  const overlap = archive.id === '' ? 0 : ((await redis.xRange(keys.stream, '-', archive.id)) ?? []).length;
  const newest = inStream > 0 ? await redis.xRevRange(keys.stream, '+', '-', { COUNT: 1 }) : [];
  const last = newest?.[0]?.id ?? '';
  const pipeline = await startPipeline({
    redisUrl: opts.redisUrl,
    redis,
    keys,
    store,
    params,
    consumer: `rebuild-${process.pid}`,
    batchMaxSize: batch,
    batchMaxWaitMs: 5,
    // Everything is scored again at the end: write rarely on the way.
    writeEveryMs: 1000,
    log,
    changes: new Subject(),
    sweepEveryMs: 3_600_000,
    sweepStaleMs: Number.MAX_SAFE_INTEGER,
  });
  try {
    while (last !== '' && compareStreamIds(await store.watermark(), last) < 0) {
      if (pipeline.stats.lastError) log.warn({ error: pipeline.stats.lastError }, 'rebuild: pipeline error, retrying');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await pipeline.stop();
  }
  await store.rescoreAll();
  const entities = await redis.zCard(keys.leaderboard('global'));
  return { entries: archive.n + inStream - overlap, archived: archive.n, entities, seconds: (performance.now() - t0) / 1000 };
}
