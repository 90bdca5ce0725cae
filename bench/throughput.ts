/**
 * First throughput benchmark: events/s accepted (durable in the stream) and
 * scored, fed as NDJSON over HTTP to a real server process with its own
 * redis-server (AOF on, as the private server runs). Loopback only; a fixed
 * number of events, so it always stops by itself. Prints the median of
 * several runs with min and max beside it.
 *
 *   npm run bench                 # defaults
 *   npm run bench -- --events 200000 --runs 3 --batch 5000 --concurrency 4
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Simulator } from '../server/ingest/demo.js';
import { freePort, startRedisServer } from '../server/infra/redis-server.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '4' },
    accounts: { type: 'string', default: '20000' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('npm run bench -- [--events N] [--runs N] [--batch N] [--concurrency N] [--accounts N]');
  process.exit(0);
}
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const ACCOUNTS = Number(values.accounts);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function oneRun(run: number, redisUrl: string): Promise<{ ingest: number; scored: number }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/server.ts'], {
    env: { ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: `{bench${run}}`, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/readyz`).catch(() => null))?.ok) break;
      if (i > 300) throw new Error('server did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Events are made before the clock starts; ts spread over the last hour.
    const sim = new Simulator({ seed: 7 + run, accounts: ACCOUNTS });
    const now = Date.now();
    const bodies: string[] = [];
    const profiles = sim.profiles(now - 3_600_000);
    let made = 0;
    const all = [...profiles];
    while (all.length < EVENTS) all.push(...sim.next(Math.min(10_000, EVENTS - all.length), now - 3_600_000 + Math.floor((made++ * 3_600_000) / (EVENTS / 10_000))));
    for (let i = 0; i < all.length; i += BATCH) bodies.push(all.slice(i, i + BATCH).map((e) => JSON.stringify(e)).join('\n'));

    const t0 = performance.now();
    let next = 0;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const res = await fetch(`${url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
          const r = (await res.json()) as { accepted: number };
          accepted += r.accepted;
        }
      }),
    );
    const tIngest = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 300_000;
    while ((await metric(url, 'resonance_events_scored_total')) < accepted) {
      if (Date.now() > deadline) throw new Error('scoring did not catch up within 5 minutes');
      await new Promise((r) => setTimeout(r, 20));
    }
    const tScored = (performance.now() - t0) / 1000;
    console.log(`  run ${run + 1}: ${fmt(accepted)} events, accepted in ${tIngest.toFixed(2)} s, scored in ${tScored.toFixed(2)} s`);
    return { ingest: accepted / tIngest, scored: accepted / tScored };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'resonance-bench-'));
const redis = await startRedisServer({ dir, persistence: 'aof' });
try {
  console.log(`Throughput: ${fmt(EVENTS)} demo events (${fmt(ACCOUNTS)} accounts), NDJSON batches of ${BATCH}, ${CONCURRENCY} requests in flight, ${RUNS} runs`);
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(await oneRun(r, redis.url));
  const rows = [
    ['accepted (durable, deduplicated)', results.map((r) => r.ingest)],
    ['accepted and scored', results.map((r) => r.scored)],
  ] as const;
  console.log('\n| measure | median events/s | min | max |\n| --- | ---: | ---: | ---: |');
  for (const [name, xs] of rows) console.log(`| ${name} | ${fmt(median([...xs]))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
