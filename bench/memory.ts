/**
 * Redis memory per scored account: feeds the demo simulator's history
 * (by default 2,000 accounts, 100,000 events: busy accounts) through the real
 * app and its own redis-server, then sums MEMORY USAGE by kind of key.
 *
 *   npx tsx bench/memory.ts [--accounts 2000] [--events 100000]
 *   npx tsx bench/memory.ts --accounts 20000 --events 300000   # the benchmark's ~15 events per account
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { startDemo } from '../server/ingest/demo.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import Fastify from 'fastify';
import app from '../server/app.js';
const { values } = parseArgs({ options: { accounts: { type: 'string', default: '2000' }, events: { type: 'string', default: '100000' } } });
const ACCOUNTS = Number(values.accounts);
const EVENTS = Number(values.events);
const dir = mkdtempSync(join(tmpdir(), 'resonance-memory-'));
const redis = await startRedisServer({ dir, persistence: 'none' });
const f = Fastify({ logger: false });
await f.register(app, { redisUrl: redis.url, keyPrefix: '{m}', ingestKeys: [], adminKey: undefined, embedOrigins: [], halfLifeDays: 30, dedupeWindowSec: 600, roles: new Set(['ingest', 'score', 'push'] as const), batchMaxSize: 1000, batchMaxWaitMs: 25, writeEveryMs: 100, webDir: '/nonexistent' });
await f.listen({ port: 0 });
const stop = startDemo(f.ingest!, { rate: 0, seed: 42, accounts: ACCOUNTS, historyEvents: EVENTS, register: (e) => f.entities.put(e.id, e) });
const t0 = Date.now();
// The history comes after one profile per account.
while (f.pipeline!.stats.eventsScored < EVENTS + ACCOUNTS) await new Promise((r) => setTimeout(r, 500));
console.log(`scored ${EVENTS + ACCOUNTS} events in`, (Date.now() - t0) / 1000, 's');
await stop();
const r = f.redis;
const types: Record<string, { n: number; bytes: number }> = {};
for await (const batch of r.scanIterator({ MATCH: '{m}:*', COUNT: 1000 })) {
  const sizes = await Promise.all(batch.map((k) => r.memoryUsage(k)));
  batch.forEach((k, i) => {
    const t = k.split(':')[1]!;
    (types[t] ??= { n: 0, bytes: 0 }).n++;
    types[t]!.bytes += Number(sizes[i] ?? 0);
  });
}
const accounts = types['a']!.n;
const info = await r.info('memory');
console.log('accounts', accounts, 'used_memory', info.match(/used_memory:(\d+)/)![1], 'per account', Math.round(Number(info.match(/used_memory:(\d+)/)![1]) / accounts));
for (const [t, v] of Object.entries(types).sort((a, b) => b[1].bytes - a[1].bytes)) console.log(t.padEnd(8), String(v.n).padStart(7), 'keys', String(Math.round(v.bytes / v.n)).padStart(7), 'B/key', String(Math.round(v.bytes / accounts)).padStart(7), 'B/account');
await f.close();
await redis.stop();
rmSync(dir, { recursive: true, force: true });
