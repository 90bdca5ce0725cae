/**
 * The scorer alone, measured in CPU time rather than wall time, so that
 * variants compare fairly on a noisy machine: the same batches of the demo
 * mix are applied and scored by each variant of the score store, each on its
 * own key prefix of one private redis-server (AOF on), interleaved batch by
 * batch (the order swapping every batch), so that the machine's drift, which
 * here moves a run by ±30%, falls on every variant alike. Prints, per
 * variant, Redis CPU µs per event for the apply and the score writes, Node
 * CPU µs per event (medians of the rounds), and their ratios to the first
 * variant.
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
  --rounds N        rounds (each variant fed every batch in turn); medians reported (default 3)
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

interface Variant {
  name: string;
  store: ScoreStore;
  prefix: string;
  wm: string;
  seq: number;
  applyUs: number;
  writeUs: number;
  nodeUs: number;
}

/** One batch into one variant; measured when `measure` (Redis CPU around each call, Node CPU around the whole). */
async function step(v: Variant, chunk: StreamEvent[], write: boolean, measure: boolean): Promise<void> {
  const deltas = aggregate(chunk, params);
  const id = `${++v.seq}-0`;
  const n0 = process.cpuUsage();
  const r0 = measure ? await redisCpu() : 0;
  await v.store.apply(deltas.values(), v.wm, id, chunk.reduce((m, e) => Math.max(m, e.ts), 0));
  v.wm = id;
  const r1 = measure ? await redisCpu() : 0;
  if (write) await v.store.rescoreDirty();
  if (!measure) return;
  const r2 = write ? await redisCpu() : r1;
  const n = process.cpuUsage(n0);
  v.applyUs += (r1 - r0) * 1e6;
  v.writeUs += (r2 - r1) * 1e6;
  v.nodeUs += n.user + n.system;
}

const results = new Map<string, { applyUs: number[]; writeUs: number[]; nodeUs: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  const vs: Variant[] = variants.map((v, k) => {
    const prefix = `{sc${round}-${k}}`;
    return { name: v.name, store: v.make(client, makeKeys(prefix), params), prefix, wm: '', seq: 0, applyUs: 0, writeUs: 0, nodeUs: 0 };
  });
  for (let i = 0; i < population.length; i += BATCH) for (const v of vs) await step(v, population.slice(i, i + BATCH), true, false);
  await client.configResetStat();
  const t0 = performance.now();
  let batches = 0;
  for (let i = 0; i < activity.length; i += BATCH) {
    batches++;
    const chunk = activity.slice(i, i + BATCH);
    const last = i + BATCH >= activity.length;
    for (const v of batches % 2 ? vs : [...vs].reverse()) await step(v, chunk, last || batches % WRITE_EVERY === 0, true);
  }
  const wall = (performance.now() - t0) / 1000;
  for (const v of vs) {
    const res = results.get(v.name) ?? { applyUs: [], writeUs: [], nodeUs: [] };
    res.applyUs.push(v.applyUs / activity.length);
    res.writeUs.push(v.writeUs / activity.length);
    res.nodeUs.push(v.nodeUs / activity.length);
    results.set(v.name, res);
    console.log(`  round ${round + 1} ${v.name}: Redis ${fmt(v.applyUs / activity.length, 1)} + ${fmt(v.writeUs / activity.length, 1)} µs/event (apply + score writes), Node ${fmt(v.nodeUs / activity.length, 1)} µs/event`);
  }
  const profile = commandProfile(await client.info('commandstats'), activity.length * vs.length);
  console.log(`    all variants together, ${fmt(wall, 1)} s wall; Redis µs/event by command (a script's time includes its commands'): ${profile.usecPerEvent.map(([c, u]) => `${c} ${fmt(u, 1)}`).join(', ')}`);
  for (const v of vs) await dropPrefix(client, v.prefix);
}

const base = results.get(variants[0]!.name)!;
const total = (r: { applyUs: number[]; writeUs: number[] }) => median(r.applyUs.map((a, i) => a + r.writeUs[i]!));
console.log(`\n| scorer alone, ${fmt(EVENTS)} events, ${fmt(ACCOUNTS)} accounts, batches interleaved, medians of ${ROUNDS} | Redis CPU µs/event: apply | score writes | both | Node CPU µs/event | Redis vs ${variants[0]!.name} |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const v of variants) {
  const r = results.get(v.name)!;
  console.log(`| ${v.name} | ${fmt(median(r.applyUs), 1)} | ${fmt(median(r.writeUs), 1)} | ${fmt(total(r), 1)} | ${fmt(median(r.nodeUs), 1)} | ${fmt(total(r) / total(base), 2)}× |`);
}
await client.close();
await redis.stop();
rmSync(dir, { recursive: true, force: true });
