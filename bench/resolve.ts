/**
 * `npx tsx bench/resolve.ts [--accounts N] [--events N] [--rounds N]`: what
 * a score write's read costs Node (0.12.1): the demo's history is applied
 * and scored by this checkout's store (so the account hashes hold what they
 * hold in production: state, score record, history), then every scored
 * account is resolved in chunks of WRITE_CHUNK, as a score write reads them,
 * by this checkout's store and, with
 * `BENCH_OTHER_STORE=<other checkout>/server/score/store.ts`, by another's,
 * in turn, the order swapping every round. Checks that both resolve the same
 * entities and prints Node CPU µs per entity resolved (medians, min and max).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseArgs } from 'node:util';
import { makeKeys } from '../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../server/infra/redis.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { aggregate, type StreamEvent } from '../server/score/aggregate.js';
import { modelParams, type ModelParams } from '../server/score/model.js';
import { createScoreStore, type ScoreStore } from '../server/score/store.js';
import { inChunks, WRITE_CHUNK } from '../server/score/write-chunks.js';
import type { Keys } from '../server/infra/keys.js';
import { validateEvent } from '../shared/validate.js';
import { countOption, demoEvents, fmt, median } from './lib.js';

const { values } = parseArgs({
  options: { accounts: { type: 'string' }, events: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(`npx tsx bench/resolve.ts [options]

  --accounts N   accounts in the demo's population (default 20,000)
  --events N     history events applied and scored first (default 300,000)
  --rounds N     rounds, each store resolving every scored account once (default 8)
  BENCH_OTHER_STORE=<store.ts> also measures that store as "other"
  Prints Node CPU µs per entity resolved as a score write reads them.`);
  process.exit(0);
}
const ACCOUNTS = countOption('accounts', values.accounts, 20_000);
const EVENTS = countOption('events', values.events, 300_000);
const ROUNDS = countOption('rounds', values.rounds, 8);

type MakeStore = (client: RedisClient, keys: Keys, params: ModelParams) => ScoreStore;
const variants: { name: string; store: ScoreStore }[] = [];
const params = modelParams(30);
const dir = mkdtempSync(join(tmpdir(), 'resonance-resolve-'));
const server = await startRedisServer({ dir, persistence: 'none' });
const client = await connectRedis(server.url, 'bench-resolve');
const keys = makeKeys('{rs}');
variants.push({ name: 'this checkout', store: createScoreStore(client, keys, params) });
if (process.env.BENCH_OTHER_STORE) {
  const other = (await import(process.env.BENCH_OTHER_STORE)) as { createScoreStore: MakeStore };
  variants.push({ name: 'other', store: other.createScoreStore(client, keys, params) });
}

console.log(`Applying and scoring ${fmt(ACCOUNTS)} profiles and ${fmt(EVENTS)} events of the demo...`);
const events = demoEvents(ACCOUNTS, EVENTS, 7).flatMap((e) => {
  const r = validateEvent(e, Date.now());
  return r.ok ? [r.event as StreamEvent] : [];
});
const [first] = variants;
let wm = '';
for (let i = 0, seq = 1; i < events.length; i += 1000, seq++) {
  const chunk = events.slice(i, i + 1000);
  await first!.store.apply(aggregate(chunk, params).values(), wm, `${seq}-0`, chunk.reduce((m, e) => Math.max(m, e.ts), 0));
  wm = `${seq}-0`;
  if (seq % 10 === 0) await first!.store.rescoreDirty();
}
await first!.store.rescoreDirty();
const ids = (await client.zRange(keys.leaderboard('global'), 0, -1)).sort();
const chunks = inChunks(ids, WRITE_CHUNK);

if (variants.length > 1) {
  const sample = chunks.slice(0, 4).flat();
  const [a, b] = await Promise.all(variants.map((v) => v.store.resolve(sample)));
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)))) {
    console.error('the two stores resolve the same entities differently');
    process.exitCode = 1;
  }
}

const us = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const v of round % 2 ? [...variants].reverse() : variants) {
    const c0 = process.cpuUsage();
    for (const chunk of chunks) await v.store.resolve(chunk);
    const c = process.cpuUsage(c0);
    us.get(v.name)!.push((c.user + c.system) / ids.length);
  }
}
console.log(`\n| ${fmt(ids.length)} entities resolved per round, chunks of ${WRITE_CHUNK}, ${ROUNDS} rounds | Node CPU µs per entity, median | min | max |\n| --- | ---: | ---: | ---: |`);
for (const [name, xs] of us) console.log(`| ${name} | ${fmt(median(xs), 1)} | ${fmt(Math.min(...xs), 1)} | ${fmt(Math.max(...xs), 1)} |`);
await client.quit();
await server.stop();
rmSync(dir, { recursive: true, force: true });
