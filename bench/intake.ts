/**
 * `npx tsx bench/intake.ts [--events N --rounds N]`: Redis's cost of intake's
 * script (APPEND: deduplicate, stamp, append to the stream) per event, with
 * `BENCH_OTHER_INGEST=<other checkout>/server/ingest/ingest.ts` against
 * another checkout's script (read from that file's text), in turn, the order
 * swapping every round, on one redis-server with AOF on as the private
 * server runs. The demo mix (a profile for each of 100,000 accounts, then
 * the events asked for) in the server's chunks of 500, one chunk in ten
 * sent twice as an at-least-once producer would. Prints, per script, its own
 * time (INFO commandstats, its commands included) and Redis's main-thread
 * CPU (which adds the AOF's writes) per event: medians, min and max. Checks
 * that both accept and refuse the same events.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeKeys } from '../server/infra/keys.js';
import { connectRedis } from '../server/infra/redis.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { Script } from '../server/infra/script.js';
import { APPEND, CHUNK } from '../server/ingest/ingest.js';
import { accountId } from '../shared/event.js';
import { validateEvent } from '../shared/validate.js';
import { commandStats, countOption, demoEvents, fmt, median, redisCpuSeconds } from './lib.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(`npx tsx bench/intake.ts [options]

  --events N   events of the demo mix per round and script, after one profile for each
               of its 100,000 accounts (default 200,000)
  --rounds N   rounds (default 6)
  BENCH_OTHER_INGEST=<ingest.ts> also measures that file's APPEND script as "other"
  Prints Redis µs per event of intake's script and of Redis's main thread.`);
  process.exit(0);
}
const EVENTS = countOption('events', values.events, 200_000);
const ROUNDS = countOption('rounds', values.rounds, 6);

const scripts: [string, Script][] = [['this checkout', APPEND]];
if (process.env.BENCH_OTHER_INGEST) {
  const text = readFileSync(process.env.BENCH_OTHER_INGEST, 'utf8');
  const m = /APPEND = new Script\(`([\s\S]*?)`\);/.exec(text);
  if (!m) throw new Error(`no APPEND script in ${process.env.BENCH_OTHER_INGEST}`);
  scripts.push(['other', new Script(m[1]!)]);
}

const dir = mkdtempSync(join(tmpdir(), 'resonance-intake-'));
const server = await startRedisServer({ dir });
const redis = await connectRedis(server.url, 'bench-intake');
try {
  const now = Date.now();
  const events = demoEvents(100_000, EVENTS, 7).flatMap((e) => {
    const v = validateEvent(e, now);
    return v.ok ? [v.event] : [];
  });
  const chunkArgs = (base: string): string[][] => {
    const out: string[][] = [];
    for (let i = 0; i < events.length; i += CHUNK) {
      const args = [String(7260), base];
      for (const e of events.slice(i, i + CHUNK)) args.push(`${e.network}|${e.id}`, JSON.stringify(e), accountId(e.network, e.actor));
      out.push(args);
    }
    return out;
  };
  const sample = async () => {
    const [stats, cpu] = await Promise.all([redis.info('commandstats'), redisCpuSeconds(redis, { mainThread: true })]);
    return { usec: commandStats(stats).get('EVALSHA')?.usec ?? 0, cpu };
  };
  const results = new Map<string, { script: number[]; thread: number[]; counts: string }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, script] of round % 2 === 0 ? scripts : [...scripts].reverse()) {
      const keys = makeKeys(`{bench-intake-${round}-${name === 'other' ? 'o' : 't'}}`);
      const keyList = [keys.stream, keys.dedupe(2), keys.dedupe(1)];
      const chunks = chunkArgs(keys.base);
      await script.load(redis);
      const before = await sample();
      let accepted = 0;
      let duplicates = 0;
      for (let c = 0; c < chunks.length; c++) {
        for (let k = 0; k < (c % 10 === 0 ? 2 : 1); k++) {
          const [a, d] = (await script.run(redis, keyList, chunks[c]!)) as [number, number];
          accepted += a;
          duplicates += d;
        }
      }
      const after = await sample();
      const r = results.get(name) ?? { script: [], thread: [], counts: '' };
      r.script.push((after.usec - before.usec) / events.length);
      r.thread.push(((after.cpu - before.cpu) * 1e6) / events.length);
      r.counts = `${accepted} accepted, ${duplicates} duplicates`;
      results.set(name, r);
      await redis.sendCommand(['FLUSHALL']);
    }
  }
  const counts = new Set([...results.values()].map((r) => r.counts));
  if (counts.size > 1) throw new Error(`the scripts disagree: ${[...results].map(([k, r]) => `${k}: ${r.counts}`).join('; ')}`);
  const row = (xs: number[]) => `${fmt(median(xs), 2)} | ${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)}`;
  console.log(`\n| intake's script, ${fmt(events.length)} events a round (${[...counts][0]}), ${ROUNDS} rounds | script µs/event, median | min–max | Redis main thread µs/event, median | min–max |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, r] of results) console.log(`| ${name} | ${row(r.script)} | ${row(r.thread)} |`);
} finally {
  await redis.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
