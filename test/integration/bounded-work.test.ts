/**
 * Property 13: each event costs a bounded number of Redis operations, however
 * many accounts exist. Measured with INFO commandstats (which counts the
 * commands scripts run too) on a Redis of this test's own. Under load the
 * pipeline writes fewer times than batches (coalescing); the test writes after
 * every batch, the upper bound, so that the count does not depend on timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { startRedisServer, type RedisServerHandle } from '../../server/infra/redis-server.js';
import { postEvents, startApp, until } from '../helpers/app.js';

async function totalCalls(redis: RedisClient): Promise<number> {
  const info = await redis.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) if (!['info', 'xinfo|groups'].includes(m[1]!)) n += Number(m[2]);
  return n;
}

function workload(population: number, n: number, seed: number) {
  const ts = Date.now() - 60_000;
  const types = ['reply', 'share', 'like', 'like', 'click', 'mention', 'follow'];
  return Array.from({ length: n }, (_, k) => ({
    id: `w${seed}-${k}`,
    network: 'x',
    type: types[k % types.length]!,
    actor: `fan${(k * 31 + seed) % 500}`,
    target: `acct${(k * 7919 + seed) % population}`,
    ...(k % 7 < 5 ? { post: `post${k % 40}` } : {}),
    ts,
  }));
}

describe('bounded work per event', () => {
  let server: RedisServerHandle;
  let redis: RedisClient;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'resonance-ops-'));
    server = await startRedisServer({ dir, persistence: 'none' });
    redis = await connectRedis(server.url, 'test');
  });
  afterAll(async () => {
    await redis.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Redis commands per event do not grow with the number of accounts in the store', async () => {
    const perEvent: number[] = [];
    for (const stored of [200, 20_000]) {
      // Scores written after every batch: the most work per event, and the same whatever the timing.
      const t = await startApp({ redisUrl: server.url, writeEveryMs: 0 });
      try {
        // A store holding `stored` other accounts, then the same measured workload.
        const filler = Array.from({ length: stored }, (_, k) => ({ id: `f${k}`, network: 'x', type: 'like', actor: `filler-fan${k % 300}`, target: `filler${k}`, ts: Date.now() - 120_000 }));
        for (let i = 0; i < filler.length; i += 5000) await postEvents(t.url, filler.slice(i, i + 5000));
        await until(() => (t.app.pipeline!.stats.eventsScored === stored ? true : undefined), 60_000);
        const before = await totalCalls(redis);
        await postEvents(t.url, workload(1000, 2000, 2));
        await until(() => (t.app.pipeline!.stats.eventsScored === stored + 2000 ? true : undefined), 30_000);
        perEvent.push(((await totalCalls(redis)) - before) / 2000);
      } finally {
        await t.close();
      }
    }
    const [small, large] = perEvent as [number, number];
    // A hard ceiling: a few dozen commands per event, including those run inside scripts...
    expect(large).toBeLessThan(80);
    // ...and the same cost with 100 times as many accounts stored: nothing scans them.
    expect(Math.abs(large - small) / small).toBeLessThan(0.1);
    console.log(`Redis commands per event: ${small.toFixed(1)} with 200 accounts stored, ${large.toFixed(1)} with 20,000`);
  });
});
