/**
 * The tutorial way, for comparison: what most guides show. Each event is
 * handled on arrival with one awaited Redis round trip per update: a SET NX
 * for deduplication, then the counters and the leaderboard. No batching, no
 * scripts, no decay, no pipeline: a lower bound on work, an upper bound on
 * round trips.
 */
import { connectRedis } from '../server/infra/redis.js';
import type { ActivityEvent } from '../shared/event.js';
import { dropPrefix } from './lib.js';

const WEIGHTS: Record<string, number> = { like: 1, reply: 3, share: 4, mention: 2, click: 1, conversion: 5, endorse: 3 };

export async function runTutorial(redisUrl: string, events: ActivityEvent[], runs: number): Promise<number[]> {
  const redis = await connectRedis(redisUrl, 'bench-tutorial');
  const rates: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const p = `tutorial${run}`;
      const t0 = performance.now();
      for (const e of events) {
        const fresh = await redis.set(`${p}:seen:${e.network}|${e.id}`, '1', { NX: true, EX: 600 });
        if (fresh === null) continue;
        if (e.type === 'profile') {
          await redis.hSet(`${p}:acct:${e.network}:${e.actor}`, 'followers', String(e.followers ?? 0));
          continue;
        }
        if (!e.target || e.target === e.actor) continue;
        const target = `${e.network}:${e.target}`;
        const w = WEIGHTS[e.type] ?? 0;
        await redis.hIncrBy(`${p}:acct:${target}`, `n:${e.type}`, 1);
        if (e.type === 'follow' || e.type === 'unfollow') {
          await redis.hIncrBy(`${p}:acct:${target}`, 'followers', e.type === 'follow' ? 1 : -1);
          continue;
        }
        await redis.hIncrByFloat(`${p}:acct:${target}`, 'score', w);
        await redis.zIncrBy(`${p}:leaderboard`, w, target);
      }
      rates.push(events.length / ((performance.now() - t0) / 1000));
      await dropPrefix(redis, p);
    }
  } finally {
    await redis.close();
  }
  return rates;
}
