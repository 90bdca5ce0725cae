/**
 * The demo's history scored by the real app in this process, on a
 * redis-server of its own: what `bench/memory.ts` and `bench/aof.ts` measure
 * afterwards. One profile per account first, then `events` events of the mix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import app, { SERVER_OPTIONS } from '../server/app.js';
import { startDemo } from '../server/ingest/demo.js';
import { startRedisServer, type RedisServerHandle } from '../server/infra/redis-server.js';

export interface ScoredDemo {
  app: FastifyInstance;
  redis: RedisServerHandle;
  /** The redis-server's data folder. */
  dir: string;
  /** Events scored: the profiles and the history. */
  events: number;
  seconds: number;
  close(): Promise<void>;
}

export const DEMO_PREFIX = '{m}';

export async function scoreDemo(opts: { accounts: number; events: number; persistence: 'aof' | 'none'; redisArgs?: string[]; historyDays?: number }): Promise<ScoredDemo> {
  const dir = mkdtempSync(join(tmpdir(), 'resonance-demo-bench-'));
  const redis = await startRedisServer({ dir, persistence: opts.persistence, extra: opts.redisArgs });
  const f = Fastify({ ...SERVER_OPTIONS, logger: false });
  await f.register(app, { redisUrl: redis.url, keyPrefix: DEMO_PREFIX, ingestKeys: [], adminKey: undefined, embedOrigins: [], halfLifeDays: 30, dedupeWindowSec: 600, roles: new Set(['ingest', 'score', 'push'] as const), batchMaxSize: 1000, batchMaxWaitMs: 25, writeEveryMs: 100, webDir: '/nonexistent' });
  await f.listen({ port: 0 });
  const stop = startDemo(f.ingest!, { rate: 0, seed: 42, accounts: opts.accounts, historyEvents: opts.events, historyDays: opts.historyDays, register: (e) => f.entities.put(e.id, e) });
  const t0 = Date.now();
  const events = opts.events + opts.accounts;
  while (f.pipeline!.stats.eventsScored < events) await new Promise((r) => setTimeout(r, 500));
  const seconds = (Date.now() - t0) / 1000;
  await stop();
  return {
    app: f,
    redis,
    dir,
    events,
    seconds,
    async close() {
      await f.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
