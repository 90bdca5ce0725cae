/**
 * The scorer alone, measured in CPU time rather than wall time, so that
 * variants compare fairly on a noisy machine: the same batches of the demo
 * mix are applied and scored by each variant of the score store, each on its
 * own key prefix of one private redis-server (AOF on), rounds alternating.
 * Prints, per variant, Redis CPU µs and Node CPU µs per event (medians of the
 * rounds) and their ratios to the first variant.
 *
 *   npx tsx bench/scorer.ts [--accounts 100000] [--events 100000] [--rounds 3]
 *   BENCH_OTHER_STORE=/path/to/other/server/score/store.ts npx tsx bench/scorer.ts
 *       also measures another checkout's store (its createScoreStore) as "other"
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeKeys } from '../server/infra/keys.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { connectRedis, type RedisClient } from '../server/infra/redis.js';
import { aggregate, type StreamEvent } from '../server/score/aggregate.js';
import { modelParams, type ModelParams } from '../server/score/model.js';
import { createScoreStore, type ScoreStore } from '../server/score/store.js';
import type { Keys } from '../server/infra/keys.js';
import { validateEvent } from '../shared/validate.js';
import { commandProfile, redisCpuSeconds, demoEvents, dropPrefix, fmt, median } from './lib.js';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '100000' },
    events: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '1000' },
    'write-every': { type: 'string', default: '5' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`npx tsx bench/scorer.ts [options]

  --accounts N      population (default 100,000), loaded and scored first, not measured
  --events N        activity events applied and scored per round (default 100,000)
  --rounds N        rounds per variant, alternating; medians reported (default 3)
  --batch N         events per batch (default 1,000)
  --write-every N   batches per score write, as under load (default 5)
  --only TEXT       only the variants whose name contains TEXT (for a CPU profile)
  BENCH_OTHER_STORE=<store.ts> also measures that store as "other"`);
  process.exit(0);
}
const ACCOUNTS = Number(values.accounts);
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const WRITE_EVERY = Number(values['write-every']);

type MakeStore = (client: RedisClient, keys: Keys, params: ModelParams) => ScoreStore;
const variants: { name: string; make: MakeStore }[] = [{ name: 'this checkout', make: (c, k, p) => createScoreStore(c, k, p) }];
if (process.env.BENCH_OTHER_STORE) {
  const other = (await import(process.env.BENCH_OTHER_STORE)) as { createScoreStore: MakeStore };
  variants.push({ name: 'other', make: (c, k, p) => other.createScoreStore(c, k, p) });
}

if (values.only) variants.splice(0, variants.length, ...variants.filter((v) => v.name.includes(values.only!)));
const params = modelParams(30);
const normalise = (raw: unknown[]): StreamEvent[] =>
  raw.flatMap((e) => {
    const r = validateEvent(e, Date.now());
    return r.ok ? [r.event] : [];
  });
console.log(`Generating ${fmt(ACCOUNTS)} profiles and ${fmt(EVENTS)} events of activity...`);
const all = normalise(demoEvents(ACCOUNTS, EVENTS, 11));
const population = all.slice(0, ACCOUNTS);
const activity = all.slice(ACCOUNTS);

const dir = mkdtempSync(join(tmpdir(), 'resonance-scorer-'));
const redis = await startRedisServer({ dir, persistence: 'aof' });
const client = await connectRedis(redis.url, 'bench-scorer');

const redisCpu = () => redisCpuSeconds(client);

async function feed(store: ScoreStore, events: StreamEvent[], seq: { n: number }, writeEvery: number): Promise<void> {
  let wm = await store.watermark();
  let batches = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    const chunk = events.slice(i, i + BATCH);
    const id = `${++seq.n}-0`;
    await store.apply(aggregate(chunk, params).values(), wm, id, chunk.reduce((m, e) => Math.max(m, e.ts), 0));
    wm = id;
    if (++batches % writeEvery === 0) await store.rescoreDirty();
  }
  await store.rescoreDirty();
}

const results = new Map<string, { redisUs: number[]; nodeUs: number[]; perSec: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const prefix = `{sc${round}}`;
    const keys = makeKeys(prefix);
    const store = v.make(client, keys, params);
    const seq = { n: 0 };
    await feed(store, population, seq, 1);
    await client.configResetStat();
    const r0 = await redisCpu();
    const n0 = process.cpuUsage();
    const t0 = performance.now();
    await feed(store, activity, seq, WRITE_EVERY);
    const wall = (performance.now() - t0) / 1000;
    const n1 = process.cpuUsage(n0);
    const redisUs = ((await redisCpu()) - r0) * 1e6;
    const stats = await client.info('commandstats');
    const res = results.get(v.name) ?? { redisUs: [], nodeUs: [], perSec: [] };
    res.redisUs.push(redisUs / activity.length);
    res.nodeUs.push((n1.user + n1.system) / activity.length);
    res.perSec.push(activity.length / wall);
    results.set(v.name, res);
    console.log(`  round ${round + 1} ${v.name}: Redis ${fmt(redisUs / activity.length, 1)} µs/event, Node ${fmt((n1.user + n1.system) / activity.length, 1)} µs/event, ${fmt(activity.length / wall)} events/s wall`);
    const profile = commandProfile(stats, activity.length);
    console.log(`    Redis µs/event by command (a script's time includes its commands'): ${profile.usecPerEvent.map(([c, u]) => `${c} ${fmt(u, 1)}`).join(', ')}`);
    await dropPrefix(client, prefix);
  }
}

const base = results.get(variants[0]!.name)!;
console.log(`\n| scorer alone, ${fmt(EVENTS)} events, ${fmt(ACCOUNTS)} accounts, medians of ${ROUNDS} | Redis CPU µs/event | Node CPU µs/event | events/s (wall) | Redis vs ${variants[0]!.name} |`);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const v of variants) {
  const r = results.get(v.name)!;
  console.log(`| ${v.name} | ${fmt(median(r.redisUs), 1)} | ${fmt(median(r.nodeUs), 1)} | ${fmt(median(r.perSec))} | ${fmt(median(r.redisUs) / median(base.redisUs), 2)}× |`);
}
await client.close();
await redis.stop();
rmSync(dir, { recursive: true, force: true });
