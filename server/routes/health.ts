/** Liveness, readiness and Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import { createHistogram, performance } from 'node:perf_hooks';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import type { PipelineStats } from '../pipeline/pipeline.js';

export interface Gauges {
  /** Null when this process runs no pipeline (another role scores). */
  pipeline: () => PipelineStats | null;
  /** Null when this process does not archive. */
  archiver: () => { archived: number; blocked: string | null; failures: number } | null;
  ingest: () => { accepted: number; duplicates: number; rejected: number } | null;
  liveClients: () => number;
  /** The least time between two publishes of a live channel now, ms (null: this process does not push). */
  livePublishInterval: () => number | null;
  /** Intake threads running now (null: bodies are handled in the main thread, or this process does not ingest). */
  intakeThreads: () => number | null;
}

/**
 * Seconds since the oldest entry not yet scored arrived (a stream id starts
 * with its arrival in ms): the first after the watermark, the last id
 * applied; 0 when there is none.
 */
async function scoringDelay(redis: RedisClient, keys: Keys): Promise<number> {
  const wm = (await redis.hGet(keys.meta, 'wm')) ?? '';
  const oldest = (await redis.xRange(keys.stream, wm === '' ? '-' : `(${wm}`, '+', { COUNT: 1 }))?.[0]?.id ?? null;
  if (!oldest) return 0;
  return Math.max(0, Date.now() - Number(oldest.slice(0, oldest.indexOf('-')))) / 1000;
}

const LOOP_SAMPLE_MS = 10;

const healthRoutes: FastifyPluginAsync<{ redis: RedisClient; keys: Keys; gauges: Gauges }> = async (app, { redis, keys, gauges }) => {
  // How late the event loop runs a timer due every LOOP_SAMPLE_MS, in µs, since the last scrape: work that
  // holds the loop (a big reply to parse, a long synchronous loop) delays every request and update.
  // (perf_hooks' monitorEventLoopDelay drops the first interval after a reset, so the timer is ours.)
  const loopDelay = createHistogram();
  let tick = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    loopDelay.record(Math.max(1, Math.round((now - tick - LOOP_SAMPLE_MS) * 1000)));
    tick = now;
  }, LOOP_SAMPLE_MS);
  sampler.unref();
  app.addHook('onClose', async () => clearInterval(sampler));

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['health'] } }, async () => ({ ok: true }));

  app.get('/readyz', { schema: { summary: 'Readiness: Redis reachable and pipeline running', tags: ['health'] } }, async (_req, reply) => {
    // Not connected (Redis restarting, unreachable): no ping, which would wait in the client's queue.
    const redisOk =
      redis.isReady &&
      (await redis.ping().then(
        (r) => r === 'PONG',
        () => false,
      ));
    const p = gauges.pipeline();
    const pipelineOk = p === null || p.running;
    const ok = redisOk && pipelineOk;
    return reply.code(ok ? 200 : 503).send({
      ok,
      redis: redisOk,
      pipeline: p === null ? 'not in this process' : p.running ? 'running' : `stopped${p.lastError ? `: ${p.lastError}` : ''}`,
    });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (req, reply) => {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    const i = gauges.ingest();
    if (i) {
      metric('resonance_events_accepted_total', 'counter', 'Events made durable.', i.accepted);
      metric('resonance_events_duplicate_total', 'counter', 'Events acknowledged as duplicates.', i.duplicates);
      metric('resonance_events_rejected_total', 'counter', 'Events rejected as invalid.', i.rejected);
    }
    const p = gauges.pipeline();
    if (p) {
      metric('resonance_events_scored_total', 'counter', 'Events applied to scores.', p.eventsScored);
      metric('resonance_stream_entries_acked_total', 'counter', 'Stream entries the scorer is done with (applied, or skipped as applied before).', p.entriesAcked);
      metric('resonance_stream_pending', 'gauge', 'Entries the scorer has read and not yet applied.', p.inFlight);
      metric('resonance_batches_total', 'counter', 'Batches applied.', p.batches);
      metric('resonance_score_writes_total', 'counter', 'Score writes (one covers every batch applied since the last).', p.writes);
      metric('resonance_batch_apply_seconds_total', 'counter', 'Time spent applying batches.', p.applySecondsTotal);
      metric('resonance_score_write_seconds_total', 'counter', 'Time spent in score writes (divided by resonance_score_writes_total: how long one takes, about how late scores reach readers under load).', p.writeSecondsTotal);
      metric('resonance_apply_waited_seconds_total', 'counter', 'Time batches waited for a score write that had run 1 s (or WRITE_EVERY_MS, if longer) to end.', p.applyWaitedSecondsTotal);
      metric('resonance_pipeline_running', 'gauge', '1 while the pipeline runs.', p.running ? 1 : 0);
    }
    const a = gauges.archiver();
    if (a) {
      metric('resonance_archive_events_total', 'counter', 'Stream entries this process archived to disk (then trimmed from the stream).', a.archived);
      metric('resonance_archive_failures_total', 'counter', 'Archive rounds that failed (Redis away, disk full ...); each is tried again a second later (the log says why).', a.failures);
      metric('resonance_archive_blocked', 'gauge', '1 while archiving is paused because the archive on disk is missing or damaged (the log says why).', a.blocked ? 1 : 0);
    }
    const threads = gauges.intakeThreads();
    if (threads !== null) metric('resonance_intake_threads', 'gauge', 'Intake threads running (fewer than INGEST_THREADS while one that stopped is started again).', threads);
    metric('resonance_live_clients', 'gauge', 'Connected live clients.', gauges.liveClients());
    const interval = gauges.livePublishInterval();
    if (interval !== null) {
      metric('resonance_live_publish_interval_seconds', 'gauge', 'The least time between two updates of a live channel: 0.1 (10 a second) while this process has room, up to 1 while its event loop is saturated.', interval / 1000);
    }
    // Recorded in µs (1 at least); an empty histogram reports 0.
    const delay = (us: number) => (loopDelay.count > 0 ? us / 1e6 : 0);
    metric('resonance_event_loop_delay_p99_seconds', 'gauge', 'How late the event loop ran a timer due every 10 ms, 99th percentile since the previous scrape.', delay(loopDelay.percentile(99)));
    metric('resonance_event_loop_delay_max_seconds', 'gauge', 'How late the event loop ran a timer due every 10 ms, the most since the previous scrape.', delay(loopDelay.max));
    loopDelay.reset();
    // What Redis knows: left out while it cannot be reached (the process's own counters above still answer).
    metric('resonance_redis_up', 'gauge', '1 while the connection to Redis is ready.', redis.isReady ? 1 : 0);
    if (redis.isReady) {
      try {
        metric('resonance_stream_length', 'gauge', 'Entries in the Redis stream (not yet archived, or no archive).', await redis.xLen(keys.stream));
        const groups = await redis.xInfoGroups(keys.stream).catch(() => null);
        if (groups) {
          // Before any scorer has made the group, nothing is delivered: every entry is behind.
          const g = groups.find((x) => x.name === keys.group);
          if (g) metric('resonance_stream_lag', 'gauge', 'Entries not yet delivered to the scorer.', Number(g.lag ?? 0));
          metric('resonance_scoring_delay_seconds', 'gauge', 'Age of the oldest event not yet scored, by its arrival (0 when scoring has caught up): how far behind the scores are.', await scoringDelay(redis, keys));
        }
      } catch (err) {
        req.log.warn({ err }, 'metrics: the stream could not be read');
      }
    }
    return reply.type('text/plain; version=0.0.4').send(lines.join('\n') + '\n');
  });
};

export default healthRoutes;
