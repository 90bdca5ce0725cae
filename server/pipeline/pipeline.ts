/**
 * The one place the pipeline is composed: stream → decode → skip applied →
 * micro-batch → aggregate per account → atomic apply → score changes.
 * Batches are applied one at a time, in stream order, so the watermark (the
 * last id applied) only grows; a failure restarts the pipeline, which reads
 * the stream again from the watermark (the group reads with NOACK: see
 * `source.ts`) and skips what was already applied.
 */
import { concatMap, from, Subject, type Subscription } from 'rxjs';
import type { FastifyBaseLogger } from 'fastify';
import type { Keys } from '../infra/keys.js';
import { connectRedis, type RedisClient } from '../infra/redis.js';
import type { ModelParams } from '../score/model.js';
import { moveEarlierLayouts } from '../score/legacy.js';
import { StaleWatermarkError, type ScoreChange, type ScoreStore } from '../score/store.js';
import { aggregateBatches, compareStreamIds, decodeEntries, microBatch, skipApplied, type AggregatedBatch } from './operators.js';
import { clearPendingList, dropIdleConsumers, ensureGroup, streamSource, type StreamSource } from './source.js';

export interface PipelineOptions {
  redisUrl: string;
  redis: RedisClient;
  keys: Keys;
  store: ScoreStore;
  params: ModelParams;
  consumer: string;
  batchMaxSize: number;
  batchMaxWaitMs: number;
  /** While more entries wait, scores are written at most this often (ms); 0 writes after every batch. */
  writeEveryMs: number;
  log: FastifyBaseLogger;
  /** Where score changes go. */
  changes: Subject<ScoreChange[]>;
  /** Whether someone watches an entity live in this process: an apply writes those it touched, and a score write stores those first. */
  watched?: (id: string) => boolean;
  restartDelayMs?: number;
  /** How often idle entities are re-scored so that their scores decay (wall time), and how stale (event time) they may get. */
  sweepEveryMs?: number;
  sweepStaleMs: number;
}

export interface PipelineStats {
  running: boolean;
  eventsScored: number;
  /** Stream entries done with: applied, or skipped as applied before. */
  entriesAcked: number;
  /** Entries read from the stream and not yet applied. */
  inFlight: number;
  batches: number;
  /** Score writes; under load one covers several batches. */
  writes: number;
  applySecondsTotal: number;
  /** Time spent in score writes (with `writes`, how long one takes: how late scores reach readers under load). */
  writeSecondsTotal: number;
  /** Time batches waited for a long score write to end before they were applied. */
  applyWaitedSecondsTotal: number;
  lastError: string | null;
}

export interface Pipeline {
  stats: PipelineStats;
  stop(): Promise<void>;
}

/** How long a score write may share Redis with the applies before they wait for it. */
export const WRITE_PRIORITY_AFTER_MS = 1000;

export async function startPipeline(opts: PipelineOptions): Promise<Pipeline> {
  /** The stream source of the current run. */
  let reading: StreamSource | null = null;
  const stats: PipelineStats = {
    running: false,
    eventsScored: 0,
    entriesAcked: 0,
    get inFlight() {
      return reading?.pending() ?? 0;
    },
    batches: 0,
    writes: 0,
    applySecondsTotal: 0,
    writeSecondsTotal: 0,
    applyWaitedSecondsTotal: 0,
    lastError: null,
  };
  let stopped = false;
  let reader: RedisClient | null = null;
  let sub: Subscription | null = null;
  let restartTimer: NodeJS.Timeout | null = null;
  let watermark = '';
  let inflight: Promise<unknown> = Promise.resolve();
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (!stats.running || sweeping) return;
    sweeping = true;
    opts.store
      .sweep(opts.sweepStaleMs, 500)
      .then((changes) => changes.length > 0 && opts.changes.next(changes))
      .catch((err: unknown) => opts.log.warn({ err }, 'decay sweep failed'))
      .finally(() => (sweeping = false));
  }, opts.sweepEveryMs ?? 2000);
  sweeper.unref();

  /**
   * Scores are written apart from the apply, by one write at a time: at once
   * when the stream has nothing more for now (low latency when traffic is
   * light), otherwise at most every `writeEveryMs`, so that under load an
   * entity touched by several batches is scored and written once. The next
   * batches are applied while a write reads accounts and computes scores, so
   * Node and Redis work at the same time. With `writeEveryMs` 0 every batch
   * is written before the next is applied (the most work, and the same
   * whatever the timing).
   */
  let unwritten = 0;
  let lastWrite = 0;
  let writeTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  let wanted = false;
  let urgent = false;
  /** The write pass in progress: when it started, and its end. */
  let pass: { started: number; done: Promise<unknown> } | null = null;
  /** Ends the wait between two writes early: the stream has nothing more, or the pipeline stops. */
  let wake: (() => void) | null = null;

  /** Writes everything dirty; the events applied before it are then scored. */
  async function writeOnce(): Promise<void> {
    const n = unwritten;
    unwritten = 0;
    try {
      // Each chunk's changes go out as soon as it is stored: live clients need not wait for the whole pass.
      const rescore = opts.store.rescoreDirty((changes) => opts.changes.next(changes), opts.watched);
      pass = { started: performance.now(), done: rescore.catch(() => {}) };
      await rescore;
      stats.writes += 1;
      stats.eventsScored += n;
    } catch (err) {
      // Their entities stay marked dirty: a later write scores them.
      unwritten += n;
      throw err;
    } finally {
      if (pass) stats.writeSecondsTotal += (performance.now() - pass.started) / 1000;
      pass = null;
      lastWrite = performance.now();
    }
  }

  /** Starts a write, or asks the one in progress for another after it. */
  function writeSoon(now: boolean): void {
    if (writeTimer) clearTimeout(writeTimer);
    writeTimer = null;
    if (writing) {
      wanted = true;
      urgent ||= now;
      if (now) wake?.();
      return;
    }
    writing = (async () => {
      do {
        wanted = false;
        urgent = false;
        await writeOnce();
        const wait = opts.writeEveryMs - (performance.now() - lastWrite);
        // A stop that came during the write ends the loop rather than waiting (its wake found no wait to end).
        if (wanted && !urgent && wait > 0 && stats.running) {
          await new Promise<void>((r) => {
            const timer = setTimeout(r, wait);
            wake = () => (clearTimeout(timer), r());
          });
          wake = null;
        }
      } while (wanted && unwritten > 0 && stats.running);
    })()
      .catch((err: unknown) => {
        opts.log.warn({ err }, 'score write failed; the entities stay dirty and are written again');
        if (!writeTimer && stats.running) writeTimer = setTimeout(() => writeSoon(true), Math.max(opts.writeEveryMs, 1000));
      })
      .finally(() => {
        writing = null;
      });
  }

  // The watched entities a batch touches are written with it (the store's live write), ahead of the next batch.
  const watched = opts.watched;
  const live = watched ? { watched, onWritten: (changes: ScoreChange[]) => opts.changes.next(changes) } : undefined;

  async function apply(b: AggregatedBatch, source: StreamSource): Promise<void> {
    // A write pass goes through its entities in chunks, each a few round trips that queue in Redis
    // behind any APPLY script running; left to compete, long applies starve it (with 4,000-event
    // batches passes ran 3 to 12 s and fell behind for good). Once a pass has run for
    // WRITE_PRIORITY_AFTER_MS (or writeEveryMs, if longer) it has Redis to itself: the next batch
    // waits for it. Shorter passes (~0.4 s under load with the defaults) overlap the applies, so
    // that Redis works while Node scores.
    const current = pass;
    if (current && performance.now() - current.started >= Math.max(WRITE_PRIORITY_AFTER_MS, opts.writeEveryMs)) {
      const w0 = performance.now();
      await current.done;
      stats.applyWaitedSecondsTotal += (performance.now() - w0) / 1000;
    }
    const t0 = performance.now();
    if (compareStreamIds(b.last, watermark) > 0) {
      await opts.store.apply(b.deltas.values(), watermark, b.last, b.clock, live);
      watermark = b.last;
      unwritten += b.events;
    }
    source.release(b.ids.length);
    stats.entriesAcked += b.ids.length;
    stats.batches += 1;
    if (opts.writeEveryMs === 0) await writeOnce();
    else if (source.pending() === 0) writeSoon(true);
    else if (writing) wanted = true;
    else if (performance.now() - lastWrite >= opts.writeEveryMs) writeSoon(false);
    else writeTimer ??= setTimeout(() => writeSoon(false), opts.writeEveryMs - (performance.now() - lastWrite));
    stats.applySecondsTotal += (performance.now() - t0) / 1000;
  }

  async function run(): Promise<void> {
    await ensureGroup(opts.redis, opts.keys);
    await opts.store.prepare();
    // APPLY and WRITE keep an account's posts, record and topics where this version reads them: an earlier version's move first.
    const moved = await moveEarlierLayouts(opts.redis, opts.keys);
    if (moved.posts + moved.records > 0) opts.log.info(moved, 'moved the post hashes and score records an earlier version kept apart into the accounts\' hashes');
    if (moved.accounts > 0) opts.log.info({ accounts: moved.accounts }, 'packed the topic fields of the account hashes an earlier version wrote, one field a topic');
    watermark = await opts.store.watermark();
    // Versions before 0.8.1 read without NOACK: their pending list goes (what it held is read again from the watermark).
    const cleared = await clearPendingList(opts.redis, opts.keys);
    if (cleared > 0) opts.log.info({ cleared }, 'acknowledged the entries an earlier version left pending; those not yet applied are read again from the watermark');
    await dropIdleConsumers(opts.redis, opts.keys, opts.consumer);
    await opts.store.rescoreDirty((changes) => opts.changes.next(changes), opts.watched);
    reader = await connectRedis(opts.redisUrl, `resonance-reader-${opts.consumer}`);
    const source = streamSource(reader, opts.keys, {
      consumer: opts.consumer,
      after: watermark,
      count: opts.batchMaxSize,
      blockMs: 1000,
      maxInFlight: opts.batchMaxSize * 4,
    });
    reading = source;
    sub = source.entries$
      .pipe(
        decodeEntries(),
        skipApplied(() => watermark),
        microBatch(opts.batchMaxSize, opts.batchMaxWaitMs),
        aggregateBatches(opts.params),
        concatMap((b) => from((inflight = apply(b, source)))),
      )
      .subscribe({ error: (err: unknown) => void fail(err) });
    stats.running = true;
    stats.lastError = null;
  }

  async function halt(): Promise<void> {
    stats.running = false;
    sub?.unsubscribe();
    sub = null;
    reading = null;
    // Let a batch being applied finish, so a stop never leaves half a batch to redo, and write what is dirty.
    await inflight.catch(() => {});
    if (writeTimer) clearTimeout(writeTimer);
    writeTimer = null;
    wake?.();
    await writing;
    if (unwritten > 0) await writeOnce().catch((err: unknown) => opts.log.warn({ err }, 'final score write failed; the entities stay dirty'));
    const r = reader;
    reader = null;
    if (r) await r.close().catch(() => r.destroy());
  }

  async function fail(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    stats.lastError = message;
    if (err instanceof StaleWatermarkError) opts.log.warn({ err }, 'pipeline: watermark moved; restarting from Redis state');
    else opts.log.error({ err }, 'pipeline failed; restarting');
    await halt();
    schedule();
  }

  function schedule(): void {
    if (stopped) return;
    restartTimer = setTimeout(() => {
      restartTimer = null;
      run().catch((err: unknown) => void fail(err));
    }, opts.restartDelayMs ?? 1000);
  }

  try {
    await run();
  } catch (err) {
    stats.lastError = err instanceof Error ? err.message : String(err);
    opts.log.error({ err }, 'pipeline could not start; retrying');
    await halt();
    schedule();
  }

  return {
    stats,
    async stop() {
      stopped = true;
      clearInterval(sweeper);
      if (restartTimer) clearTimeout(restartTimer);
      await halt();
    },
  };
}
