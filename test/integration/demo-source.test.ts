/** --source demo: the simulator goes through the same ingest path as any producer, and the leaderboard fills. */
import { describe, expect, inject, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { startDemo } from '../../server/ingest/demo.js';
import { makeKeys } from '../../server/infra/keys.js';
import { connectRedis } from '../../server/infra/redis.js';
import { startApp, testPrefix, until } from '../helpers/app.js';

describe('demo source', () => {
  it('feeds the simulator through ingest into scores at the configured rate', async () => {
    const t = await startApp();
    const stop = startDemo(t.app.ingest!, { rate: 400, seed: 5, accounts: 150, historyEvents: 0 });
    try {
      const started = Date.now();
      // 150 profiles at once, then ~400 events a second.
      await until(() => (t.app.ingest!.stats.accepted >= 150 + 400 ? true : undefined), 10_000, 'demo events accepted');
      const elapsed = (Date.now() - started) / 1000;
      await until(() => (t.app.pipeline!.stats.eventsScored >= 550 ? true : undefined), 10_000, 'demo events scored');
      const lb = await (await fetch(`${t.url}/api/leaderboard?limit=5`)).json();
      expect(lb.total).toBeGreaterThanOrEqual(150);
      expect(lb.entries[0].score).toBeGreaterThan(lb.entries[4].score);
      expect(lb.entries[0].name).not.toBe(lb.entries[0].id);
      // The rate is honoured: 400 events took about a second, not an instant.
      expect(elapsed).toBeGreaterThan(0.7);
      expect(t.app.ingest!.stats.rejected).toBe(0);
    } finally {
      await stop();
      await t.close();
    }
  });

  it('keeps a live batch refused while scoring is behind and sends it again, quietly, losing none', async () => {
    const keyPrefix = testPrefix();
    // Ingest alone: nothing scores, so the lag grows until ingest brakes (503).
    const front = await startApp({ keyPrefix, roles: new Set(['ingest']), maxLag: 150 });
    const warnings: unknown[] = [];
    const log = { info: () => {}, warn: (...args: unknown[]) => warnings.push(args) } as unknown as FastifyBaseLogger;
    const stop = startDemo(front.app.ingest!, { rate: 400, seed: 9, accounts: 100, historyEvents: 0, log });
    let scorer: Awaited<ReturnType<typeof startApp>> | null = null;
    const redis = await connectRedis(inject('redisUrl'), 'test');
    try {
      const keys = makeKeys(keyPrefix);
      // Braked: the stream stops growing past the limit (give or take a tick's batch).
      await until(async () => ((await redis.xLen(keys.stream)) >= 150 ? true : undefined), 10_000, 'the lag to pass the limit');
      await new Promise((r) => setTimeout(r, 600));
      const braked = await redis.xLen(keys.stream);
      expect(braked).toBeLessThan(150 + 400);
      // A scorer catches up; the simulator resumes where it stopped.
      scorer = await startApp({ keyPrefix, roles: new Set(['score']) });
      await until(async () => ((await redis.xLen(keys.stream)) >= braked + 200 ? true : undefined), 15_000, 'the demo to resume');
      await stop();
      const entries = (await redis.xRange(keys.stream, '-', '+')) ?? [];
      // The simulator numbers event ids and new posts' ids from one counter: with nothing skipped,
      // the numbers of every accepted event and of the posts they created run without a gap.
      const seq = (id: string) => parseInt(id.split('-').pop()!, 36);
      const events = entries.map((e) => JSON.parse(e.message.e!) as { id: string; type: string; post?: string });
      const used = new Set(events.flatMap((e) => [seq(e.id), ...(e.type === 'post' && e.post ? [seq(e.post)] : [])]));
      expect(used.size).toBe(events.length + events.filter((e) => e.type === 'post').length);
      expect(Math.max(...used) - Math.min(...used) + 1).toBe(used.size);
      expect(warnings).toEqual([]);
    } finally {
      await stop();
      await scorer?.close();
      await front.close();
      await redis.close();
    }
  });
});
