/**
 * `npm run bench`: one run, side by side, on this machine. Starts its own
 * redis-server (AOF on, as the private server runs) and server processes,
 * drives them only on loopback, stops by itself, prints a table (median of
 * several runs, min and max beside it), writes bench/results/<date>.json and
 * rewrites the table in docs/benchmarks.md.
 *
 *   npm run bench                       # defaults: 3 runs of 30 s, 100,000 accounts
 *   npm run bench -- --duration 10 --runs 1 --accounts 20000
 *   npm run bench -- --only fanout      # some parts only (prints, writes nothing)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { io as connect } from 'socket.io-client';
import { accountId } from '../shared/event.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { connectRedis } from '../server/infra/redis.js';
import { archiveDirFor } from '../server/score/archive.js';
import * as APPLY_SCRIPTS from '../server/score/scripts.js';
import * as WRITE_SCRIPTS from '../server/score/write-scripts.js';
import { APPEND } from '../server/ingest/ingest.js';
import { Script } from '../server/infra/script.js';
import { benchArchiveDir, commandProfile, countOption, coresOver, redisCpuSeconds, demoEvents, dropPrefix, fmt, fmtCores, fmtLoop, median, medianCores, metric, ndjsonChunks, rssBytes, sleep, startServer, type Cores, type ServerProc } from './lib.js';
import { runFanout } from './fanout.js';
import { PROBE_TIMEOUT_MS, runLatency } from './latency.js';
import { runTutorial } from './tutorial.js';

const PARTS = ['throughput', 'tutorial', 'ceiling', 'latency', 'fanout'] as const;
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    accounts: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '4' },
    watch: { type: 'string', default: '0' },
    'fanout-procs': { type: 'string', default: '2' },
    split: { type: 'boolean', default: false },
    only: { type: 'string', default: PARTS.join(',') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`npm run bench -- [options]

  --duration S      seconds of feeding per throughput run (default 30)
  --runs N          throughput and tutorial runs; medians are reported (default 3)
  --accounts N      population of the demo mix (default 100,000)
  --batch N         events per request or frame (default 5,000)
  --concurrency N   requests or sockets in flight (default 4)
  --watch N         during each throughput window, a socket.io client watches the
                    N accounts most acted upon in it, as a wall display would (default 0)
  --fanout-procs N  processes the fan-out's clients are spread over (default 2; one
                    process's thread cannot parse 5,000 clients' frames in time, so
                    5,000 clients in one process are also measured, on a row of their own)
  --split           the throughput windows with intake in a process of its own
                    (ROLE=ingest, fed) and scoring and live push in another
                    (ROLE=score,push), as a deployment can run them; said on
                    the lines it changes (the server's cores are both processes')
  --only LIST       some of ${PARTS.join(',')}; a partial run prints its
                    table but writes neither bench/results nor docs/benchmarks.md
  BENCH_CPU_PROF=<dir> in the environment writes a CPU profile of every server
  process there, and of the fan-out clients in <dir>/clients-<n>-<k>/ (summarise
  with: npx tsx bench/cpuprofile.ts <dir>/*.cpuprofile);
  BENCH_SERVER=<path to server.js> measures another build with the same harness;
  BENCH_ARCHIVE_DIR=none runs the servers without the log's archive (<dir>: keeps
  the archive there; by default a temporary folder, removed at the end)`);
  process.exit(0);
}
const only = new Set(values.only.split(',').map((x) => x.trim()));
for (const p of only) if (!(PARTS as readonly string[]).includes(p)) {
  console.error(`bench: unknown part "${p}" in --only (parts: ${PARTS.join(', ')})`);
  process.exit(2);
}
const full = PARTS.every((p) => only.has(p));
const DURATION = Number(values.duration);
const RUNS = Number(values.runs);
const WATCH = Number(values.watch);
const ACCOUNTS = Number(values.accounts);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const FANOUT_PROCS = countOption('fanout-procs', values['fanout-procs'], 2);
const SPLIT = values.split;

if (!existsSync('dist/server/server.js')) {
  console.error('bench: run `npm run build` first (npm run bench does it for you).');
  process.exit(1);
}

interface Throughput {
  accepted: number;
  acceptedPerSec: number;
  scoredPerSec: number;
  scored: number;
  /** 503s answered while scoring was behind. */
  braked: number;
  /** Accepted but not yet scored when the window closed. */
  backlog: number;
  /** Cores used over the window. */
  cores: Cores;
  /** Score writes finished in the window, and their mean duration (ms): a score is visible once its write ends. */
  writes: number;
  writeMs: number | null;
}

/** The server's score writes so far and the time spent in them (servers before 0.8.0 report no time). */
async function writeTotals(url: string): Promise<{ writes: number; seconds: number }> {
  return { writes: await metric(url, 'resonance_score_writes_total'), seconds: await metric(url, 'resonance_score_write_seconds_total') };
}

/**
 * Feeds `chunks` for `seconds` (DURATION by default) (or until they run out) with `send`.
 * Scored is what the scorer finished inside the same window: offered load
 * is above what it can score, the brake (503 beyond MAX_LAG) bounds the
 * backlog, so this is the rate the whole system holds.
 */
async function feed(server: ServerProc, chunks: string[], send: (worker: number, body: string) => Promise<{ accepted: number } | 'busy'>, seconds = DURATION, front?: ServerProc): Promise<Throughput> {
  const scored0 = await metric(server.url, 'resonance_events_scored_total');
  const writes0 = await writeTotals(server.url);
  const cores = coresOver(redis.pid, front ? [server.pid, front.pid] : server.pid);
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const series: number[] = [];
  const sampler = setInterval(() => void metric(server.url, 'resonance_events_scored_total').then((n) => series.push(n - scored0)), 5000);
  let accepted = 0;
  let braked = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      // `chunks` is a queue: what one window leaves, the next one sends.
      for (let body = chunks.shift(); body !== undefined; body = performance.now() < until ? chunks.shift() : undefined) {
        const r = await send(w, body);
        if (r === 'busy') {
          // Braked (503): the chunk goes to the back of the queue, as a producer would resend it.
          braked++;
          chunks.push(body);
          await sleep(200);
          continue;
        }
        accepted += r.accepted;
      }
    }),
  );
  clearInterval(sampler);
  if (process.env.BENCH_SERIES) console.log(`    scored every 5 s: ${series.map((n, i) => n - (series[i - 1] ?? 0)).join(' ')}`);
  const scored = (await metric(server.url, 'resonance_events_scored_total')) - scored0;
  const tFed = (performance.now() - t0) / 1000;
  const writes1 = await writeTotals(server.url);
  const writes = writes1.writes - writes0.writes;
  const writeMs = writes > 0 && writes1.seconds > writes0.seconds ? ((writes1.seconds - writes0.seconds) / writes) * 1000 : null;
  return { accepted, acceptedPerSec: accepted / tFed, scoredPerSec: scored / tFed, scored, braked, backlog: accepted - scored, cores: cores(), writes, writeMs };
}

function httpSender(url: string) {
  return async (_w: number, body: string) => {
    const res = await fetch(`${url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    if (res.status === 503) {
      await res.arrayBuffer();
      return 'busy' as const;
    }
    return (await res.json()) as { accepted: number };
  };
}

/** The `n` accounts most acted upon in the next events of `queue` (NDJSON chunks), as entity ids. */
function mostActedUpon(queue: string[], n: number): string[] {
  const counts = new Map<string, number>();
  for (const chunk of queue.slice(0, 20)) {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as { network: string; target?: string };
      if (!e.target) continue;
      const id = accountId(e.network, e.target);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([id]) => id);
}

/** A socket.io client watching `ids`' entity channels; `close()` returns the updates it received. */
async function watchLive(url: string, ids: string[]): Promise<{ close(): number }> {
  const socket = connect(`${url}/live`, { transports: ['websocket'], forceNew: true });
  await new Promise<void>((ok) => socket.once('connect', () => ok()));
  let updates = 0;
  socket.on('update', () => updates++);
  for (const id of ids) await new Promise((ok) => socket.emit('subscribe', `entity:${id}`, ok));
  return {
    close() {
      socket.disconnect();
      return updates;
    },
  };
}

async function wsSender(url: string) {
  const sockets = await Promise.all(
    Array.from({ length: CONCURRENCY }, () => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/ingest`);
      return new Promise<WebSocket>((ok, fail) => {
        ws.once('open', () => ok(ws));
        ws.once('error', fail);
      });
    }),
  );
  const send = (w: number, body: string) =>
    new Promise<{ accepted: number } | 'busy'>((ok) => {
      const ws = sockets[w]!;
      ws.once('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; accepted?: number; error?: { code: string } };
        ok(m.type === 'ack' ? { accepted: m.accepted ?? 0 } : 'busy');
      });
      ws.send(body);
    });
  return { send, close: () => sockets.forEach((s) => s.close()) };
}

const stat = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);

const dir = mkdtempSync(join(tmpdir(), 'resonance-bench-'));
const redis = await startRedisServer({ dir, persistence: 'aof' });
const admin = await connectRedis(redis.url, 'bench');
const results: Record<string, unknown> = {};
const rows: string[] = [];
const row = (cells: string[]) => rows.push(`| ${cells.join(' | ')} |`);
try {
  console.log(`Generating the demo mix for ${fmt(ACCOUNTS)} accounts...`);
  const events = demoEvents(ACCOUNTS, 1_000_000, 7);
  // The stream starts with one profile per account (the population), then their activity.
  const activity = events.slice(ACCOUNTS);
  /** More activity of the same population, with ids not used before (the simulator numbers each run apart). */
  const moreActivity = () => ndjsonChunks(demoEvents(ACCOUNTS, 500_000, 7).slice(ACCOUNTS), BATCH);

  const ingestAlone: number[] = [];
  const http: Throughput[] = [];
  const ws: Throughput[] = [];
  let memory: { perAccount: number; accounts: number; serverRss: number; streamEntries: number; streamBytes: number; archived: number; archiveBytes: number } | null = null;
  let profile: ReturnType<typeof commandProfile> = { perEvent: NaN, top: [], usecPerEvent: [] };
  let scripts: [string, number][] = [];
  let windowScripts: [string, number][] = [];
  let windowMainUs = NaN;
  let drainSeconds = NaN;
  let drain = NaN;
  if (only.has('throughput')) {
    // One store for every run, as in production: the population first (not timed), then the
    // windows one after another, each from a fresh server process, each with events not sent before.
    const prefix = '{bench}';
    const used0 = await usedMemory();
    let server = await startServer(redis.url, prefix);
    const tPop = performance.now();
    const pop = await feed(server, ndjsonChunks(events.slice(0, ACCOUNTS), BATCH), httpSender(server.url), 600);
    for (let n = pop.scored; n < pop.accepted && performance.now() - tPop < 600_000; n = await metric(server.url, 'resonance_events_scored_total')) await sleep(200);
    console.log(`Population: ${fmt(pop.accepted)} profiles accepted and scored in ${fmt((performance.now() - tPop) / 1000, 1)} s`);
    await server.stop();
    const queue = ndjsonChunks(activity, BATCH);
    console.log(`Throughput: ${RUNS} runs of ${DURATION} s over HTTP NDJSON and /ws/ingest...`);
    for (let run = 0; run < RUNS; run++) {
      // Ingest alone (no scorer in the process, no brake): what durable, deduplicated intake costs by itself.
      const front = await startServer(redis.url, `{bench-ingest-${run}}`, { ROLE: 'ingest', MAX_LAG: '100000000' });
      // Up to 10 s, or until the 1,000,000 events run out.
      const alone = await feed(front, ndjsonChunks(activity, BATCH), httpSender(front.url), 10);
      await front.stop();
      await dropPrefix(admin, `{bench-ingest-${run}}`);
      ingestAlone.push(alone.acceptedPerSec);
      console.log(`  run ${run + 1} ingest alone: ${fmt(alone.accepted)} accepted at ${fmt(alone.acceptedPerSec)}/s`);
      for (const via of ['http', 'ws'] as const) {
        // Enough for a window: 40,000 events/s (well above what is scored) for DURATION seconds.
        while (queue.length * BATCH < 40_000 * DURATION) queue.push(...moreActivity());
        server = await startServer(redis.url, prefix, SPLIT ? { ROLE: 'score,push' } : {});
        // --split: intake in a process of its own, fed; `server` scores (and its metrics say what was scored).
        const front = SPLIT ? await startServer(redis.url, prefix, { ROLE: 'ingest' }) : undefined;
        const intake = front ?? server;
        const watcher = WATCH > 0 ? await watchLive(server.url, mostActedUpon(queue, WATCH)) : null;
        let r: Throughput;
        // In the middle of the first HTTP window: where Redis's time goes while intake and the scorer share it.
        const mid = run === 0 && via === 'http' ? sleep((DURATION * 1000) / 2).then(() => scriptProfile(admin, server.url, true)) : null;
        if (via === 'http') r = await feed(server, queue, httpSender(intake.url), DURATION, front);
        else {
          const s = await wsSender(intake.url);
          r = await feed(server, queue, s.send, DURATION, front);
          s.close();
        }
        await front?.stop();
        if (mid) ({ calls: windowScripts, mainUs: windowMainUs } = await mid);
        const watched = watcher ? `; ${fmt(watcher.close())} live updates to the ${WATCH} watched` : '';
        (via === 'http' ? http : ws).push(r);
        console.log(`  run ${run + 1} ${via.padEnd(4)}: ${fmt(r.accepted)} accepted at ${fmt(r.acceptedPerSec)}/s, scored at ${fmt(r.scoredPerSec)}/s, ${r.braked} braked; ${r.writes} score writes${r.writeMs === null ? '' : ` of ${fmt(r.writeMs)} ms on average`}; cores used: ${fmtCores(r.cores)}${watched}`);
        if (run === 0 && via === 'http') {
          // The scorer alone: draining the backlog the window left, with ingest idle, until it is empty or for 10 s.
          await admin.configResetStat();
          const before = await metric(server.url, 'resonance_events_scored_total');
          const seconds = await drained(server.url, 10);
          const n = (await metric(server.url, 'resonance_events_scored_total')) - before;
          profile = commandProfile(await admin.info('commandstats'), n);
          drain = n / seconds;
          drainSeconds = seconds;
        }
        if (run === 0 && via === 'ws') ({ calls: scripts } = await scriptProfile(admin, server.url));
        if (run === RUNS - 1 && via === 'ws') {
          let accounts = 0;
          for await (const keys of admin.scanIterator({ MATCH: `${prefix}:a:*`, COUNT: 1000 })) accounts += keys.length;
          // One snapshot (MULTI: nothing runs between its commands) of used_memory, the stream and the deduplication
          // sets, each counted exactly (SAMPLES 0). Measured one after the other, the archiver trimmed the stream in
          // between (tens of MB when it was behind), and the figure fell by up to ~25%.
          const dedupeKeys: string[] = [];
          for await (const keys of admin.scanIterator({ MATCH: `${prefix}:dd:*`, COUNT: 1000 })) dedupeKeys.push(...keys);
          const snap = admin.multi().info('memory').memoryUsage(`${prefix}:events`, { SAMPLES: 0 });
          for (const k of dedupeKeys) snap.memoryUsage(k, { SAMPLES: 0 });
          const [info, stream, ...sets] = (await snap.exec()) as unknown as [string, number | null, ...(number | null)[]];
          const used = Number(/used_memory:(\d+)/.exec(info)![1]);
          const streamBytes = Number(stream ?? 0);
          const dedupe = sets.reduce<number>((n, b) => n + Number(b ?? 0), 0);
          console.log(`  memory: the stream ${fmt(streamBytes / 1e6, 1)} MB, the deduplication sets ${fmt(dedupe / 1e6, 1)} MB, counted exactly at the moment used_memory was read`);
          const perAccount = (used - used0 - streamBytes - dedupe) / Math.max(1, accounts);
          const serverRss = rssBytes(server.pid);
          // The archive on disk: what left the stream once scored (a folder per key prefix, as the server names it).
          await drained(server.url, 15);
          await sleep(1500);
          const archiveRoot = benchArchiveDir();
          const archiveDir = archiveRoot ? archiveDirFor(archiveRoot, prefix) : null;
          const archiveBytes = archiveDir && existsSync(archiveDir) ? readdirSync(archiveDir).reduce((n, f) => n + statSync(join(archiveDir, f)).size, 0) : 0;
          memory = {
            accounts,
            perAccount,
            serverRss,
            streamEntries: await admin.xLen(`${prefix}:events`),
            streamBytes: Number((await admin.memoryUsage(`${prefix}:events`)) ?? 0),
            archived: Number((await admin.hGet(`${prefix}:archive`, 'n')) ?? 0),
            archiveBytes,
          };
        }
        await server.stop();
      }
    }
    await dropPrefix(admin, prefix);
    results.ingestAlone = { acceptedPerSec: stat(ingestAlone) };
    results.http = { acceptedPerSec: stat(http.map((r) => r.acceptedPerSec)), scoredPerSec: stat(http.map((r) => r.scoredPerSec)) };
    results.ws = { acceptedPerSec: stat(ws.map((r) => r.acceptedPerSec)), scoredPerSec: stat(ws.map((r) => r.scoredPerSec)) };
    results.cores = { http: http.map((r) => r.cores), ws: ws.map((r) => r.cores) };
    const writeMs = (list: Throughput[]) => list.flatMap((r) => (r.writeMs === null ? [] : [r.writeMs]));
    results.scoreWriteMs = { http: writeMs(http), ws: writeMs(ws) };
    results.memory = memory;
    results.commands = profile;
    results.scripts = Object.fromEntries(scripts);
    results.windowScripts = { mainThreadUs: windowMainUs, calls: Object.fromEntries(windowScripts) };
    results.scorerAlonePerSec = drain;
    row(['ingest alone over HTTP NDJSON (durable, deduplicated; no scorer, 10 s)', ...fmtStat(ingestAlone)]);
    // --split: said on every line it changes.
    const split = SPLIT ? ' (intake in a process of its own, scoring in another)' : '';
    row([`HTTP NDJSON: accepted (durable, deduplicated) with scoring braking it${split}`, ...fmtStat(http.map((r) => r.acceptedPerSec))]);
    row([`HTTP NDJSON: accepted and scored, sustained over ${DURATION} s${split}`, ...fmtStat(http.map((r) => r.scoredPerSec))]);
    row([`/ws/ingest: accepted with scoring braking it${split}`, ...fmtStat(ws.map((r) => r.acceptedPerSec))]);
    row([`/ws/ingest: accepted and scored, sustained over ${DURATION} s${split}`, ...fmtStat(ws.map((r) => r.scoredPerSec))]);
    // Which process is the wall: on 2 cores, Redis, the server and the load generator share them.
    const cores = (list: Throughput[]) => fmtCores(medianCores(list.map((r) => r.cores)));
    row([`cores used over the windows (CPU seconds per second, medians${SPLIT ? '; the server is both processes' : ''}), HTTP; /ws/ingest`, `${cores(http)}; ${cores(ws)}`, '', '']);
    const writes = [...writeMs(http), ...writeMs(ws)];
    if (writes.length > 0) row(['a score write in those windows, mean ms (a score is visible once its write ends), HTTP and /ws/ingest runs', ...fmtStat(writes)]);
    row([`the scorer alone, draining the backlog with ingest idle (first HTTP run, ${fmt(drainSeconds, 1)} s)`, fmt(drain), '', '']);
    row([`the scorer's Redis commands per event (INFO commandstats over that drain, commands inside scripts included)`, fmt(profile.perEvent, 1), profile.top.map(([c, n]) => `${c} ${fmt(n, 1)}`).join(', '), '']);
    row([`the scorer's Redis time per event, µs (EVALSHA includes its scripts' commands)`, fmt(profile.usecPerEvent.reduce((n, [c, u]) => n + (c.startsWith('EVAL') ? u : 0), 0), 1), profile.usecPerEvent.map(([c, u]) => `${c} ${fmt(u, 1)}`).join(', '), '']);
    row([`Redis time by call, µs per event, scripts by name (SLOWLOG at threshold 0 over the first 3 s of the first WS run's drain; it also lists the commands inside scripts, so the total counts them twice)`, fmt(scripts.reduce((n, [, u]) => n + u, 0), 1), scripts.slice(0, 6).map(([c, u]) => `${c} ${fmt(u, 1)}`).join(', '), '']);
    row([`the same in the middle of the first HTTP window, µs per event scored (intake and the scorer sharing Redis); first, Redis's main thread's CPU per event scored over those 3 s`, fmt(windowMainUs, 1), windowScripts.slice(0, 8).map(([c, u]) => `${c} ${fmt(u, 1)}`).join(', '), '']);
    if (memory) {
      // The figure grows with each account's activity (its posts, topics and engagers stay in its hashes).
      const perAccountEvents = memory.archived / Math.max(1, memory.accounts);
      row([`Redis bytes per scored account (${fmt(memory.accounts)} accounts after every run, stream and dedupe excluded)`, fmt(memory.perAccount), `${fmt(perAccountEvents, 1)} events per account scored in all (the profiles included), which the figure grows with`, '']);
      row(['server RSS after the last run, MB', fmt(memory.serverRss / 1e6), '', '']);
      row([
        'the Redis stream after the last run (scored entries go to the archive on disk, then leave the stream), MB',
        fmt(memory.streamBytes / 1e6, 1),
        `${fmt(memory.streamEntries)} entries in the stream; ${fmt(memory.archived)} archived in ${fmt(memory.archiveBytes / 1e6, 1)} MB on disk (${fmt(memory.archiveBytes / Math.max(1, memory.archived), 1)} B per event)`,
        '',
      ]);
    }
  }

  if (only.has('tutorial')) {
    console.log('The tutorial way (one awaited round trip per update)...');
    // The same mix as the throughput runs (the stream starts with one profile per account: skip most of those).
    // 10,000 events a run: 6 to 16 s at the tutorial way's 600 to 1,600 events/s on this machine.
    const tutorial = await runTutorial(redis.url, events.slice(events.length - 10_000), RUNS);
    results.tutorial = { eventsPerSec: stat(tutorial) };
    row(['the tutorial way: events/s', ...fmtStat(tutorial)]);
    if (http.length) row(['ratio: HTTP scored ÷ tutorial way', `${fmt(median(http.map((r) => r.scoredPerSec)) / median(tutorial), 1)}×`, '', '']);
  }

  if (only.has('ceiling')) {
    console.log('Redis ceiling (redis-benchmark -P 64)...');
    const cmds = [
      ['HINCRBYFLOAT', 'h:__rand_int__', 'E', '1.5'],
      ['HINCRBY', 'h:__rand_int__', 'n:like', '1'],
      ['ZADD', 'z', '__rand_int__', 'm:__rand_int__'],
      ['PFADD', 'p:__rand_int__', 'e:__rand_int__'],
      ['SADD', 's', '__rand_int__'],
      ['HGET', 'h:__rand_int__', 'E'],
    ];
    const ceiling: Record<string, number> = {};
    for (const c of cmds) {
      const out = execFileSync('redis-benchmark', ['-p', String(redis.port), '-P', '64', '-n', '300000', '-r', '100000', '-q', ...c], { encoding: 'utf8' });
      const m = /([\d.]+) requests per second/.exec(out.split('\r').pop() ?? out);
      ceiling[c[0]!] = m ? Number(m[1]) : NaN;
    }
    results.redisCeiling = ceiling;
    const ops = median(Object.values(ceiling));
    if (Number.isFinite(profile.perEvent)) row([`Redis ceiling: median pipelined op/s ÷ ${fmt(profile.perEvent, 1)} commands per event`, fmt(ops / profile.perEvent), '', '']);
    row(['Redis ceiling per command (redis-benchmark -P 64), op/s', Object.entries(ceiling).map(([k, v]) => `${k} ${fmt(v)}`).join(', '), '', '']);
  }

  if (only.has('latency')) {
    console.log('Latency, event accepted → update received...');
    const lat = await runLatency(redis.url, redis.pid, [1000, 10_000, 50_000], 10);
    results.latency = lat;
    // A percentile that falls on a probe answered late (or never) is shown as more than the wait.
    const ms = (x: number) => (x === Infinity ? `> ${fmt(PROBE_TIMEOUT_MS)}` : fmt(x));
    for (const l of lat) {
      const counts = [`${l.samples} probes`, ...(l.late ? [`${l.late} later than ${fmt(PROBE_TIMEOUT_MS)} ms`] : []), ...(l.refused ? [`${l.refused} refused (503)`] : []), ...(fmtLoop(l.loop) ? [fmtLoop(l.loop)] : []), `cores used: ${fmtCores(l.cores)}`].join(', ');
      row([`latency at ${fmt(l.load)}/s offered (${fmt(l.achieved)}/s achieved): p50 / p95 / p99 ms`, `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)}`, counts, '']);
    }
  }

  const fanRows: string[] = [];
  if (only.has('fanout')) {
    console.log(`Fan-out: 500, 2,000 and 5,000 socket.io clients in ${FANOUT_PROCS} processes of their own...`);
    // The contract's top-100 board for every tenth client; then 5,000 again with the top 10 that the wall and widgets watch,
    // and 5,000 in one client process, whose one thread cannot parse every frame in time (bench/fanout.ts).
    const fan = [
      ...(await runFanout(redis.url, [500, 2000, 5000], 10, 'leaderboard:global', FANOUT_PROCS)),
      ...(await runFanout(redis.url, [5000], 10, 'leaderboard:global:top10', FANOUT_PROCS)),
      ...(FANOUT_PROCS !== 1 ? await runFanout(redis.url, [5000], 10, 'leaderboard:global', 1) : []),
    ];
    results.fanout = fan;
    fanRows.push(
      '| live clients (connected) | client processes | updates delivered/s | p50 / p99 ms, event → client | server RSS per client, KB | server CPU per update, µs | cores used: server / client processes | publish interval, ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...fan.map(
        (f) =>
          `| ${fmt(f.clients)} (${fmt(f.connected)})${f.board === 'leaderboard:global' ? '' : `, \`${f.board}\``} | ${f.procs} | ${fmt(f.perSec)} | ${fmt(f.p50)} / ${fmt(f.p99)} | ${fmt(f.rssPerClient / 1000, 1)} | ${fmt(f.serverCpuUsPerUpdate, 1)} | ${fmt(f.serverCores, 2)} / ${fmt(f.clientCores, 2)} | ${fmt(f.intervalMs)} |`,
      ),
    );
  }

  const table = [`| measure (events/s unless stated) | median | min | max |`, `| --- | ---: | ---: | ---: |`, ...rows].join('\n');
  const fanTable = fanRows.length ? `\n\nFan-out (each client watches one of 50 entities, every tenth also \`leaderboard:global\` (100 rows), or its top 10 as the wall and widgets watch where the row says so; the clients in processes of their own; 1,000 events/s keep them moving; 10 s):\n\n${fanRows.join('\n')}` : '';
  console.log(`\n${table}${fanTable}\n`);

  if (!full) console.log('(a partial run: bench/results and docs/benchmarks.md left as they were)');
  else {
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim()}`;
    const date = new Date().toISOString();
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(`bench/results/${date.slice(0, 10)}.json`, JSON.stringify({ date, machine, options: { DURATION, RUNS, ACCOUNTS, BATCH, CONCURRENCY, SPLIT }, ...results }, null, 2) + '\n');
    const doc = existsSync('docs/benchmarks.md') ? readFileSync('docs/benchmarks.md', 'utf8') : '';
    const block = `<!-- bench:start -->\nMeasured ${date} on ${machine}, with \`npm run bench -- --duration ${DURATION} --runs ${RUNS} --accounts ${ACCOUNTS}\`:\n\n${table}${fanTable}\n<!-- bench:end -->`;
    writeFileSync('docs/benchmarks.md', doc.includes('<!-- bench:start -->') ? doc.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, block) : `# Benchmarks\n\n${block}\n`);
  }
} finally {
  await admin.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Waits until the scorer has caught up with the stream, or `max` seconds; returns the seconds waited. */
async function drained(url: string, max: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < max * 1000) {
    if ((await metric(url, 'resonance_stream_lag')) + (await metric(url, 'resonance_stream_pending')) === 0) break;
    await sleep(100);
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Redis time per scored event by call, scripts by name: SLOWLOG records every
 * call (threshold 0) for 3 s. Redis 7 also logs the commands a script runs,
 * so the total counts them twice; the scripts' shares are what it is for.
 */
async function scriptProfile(admin: Awaited<ReturnType<typeof connectRedis>>, url: string, mainThread = false): Promise<{ calls: [string, number][]; mainUs: number }> {
  const names = new Map(Object.entries({ ...APPLY_SCRIPTS, ...WRITE_SCRIPTS, APPEND }).flatMap(([name, s]) => (s instanceof Script ? [[s.sha, name] as const] : [])));
  await admin.configSet({ 'slowlog-log-slower-than': '0', 'slowlog-max-len': '1000000' });
  await admin.sendCommand(['SLOWLOG', 'RESET']);
  const before = await metric(url, 'resonance_events_scored_total');
  const cpu0 = mainThread ? await redisCpuSeconds(admin, { mainThread: true }) : NaN;
  await sleep(3000);
  const cpu1 = mainThread ? await redisCpuSeconds(admin, { mainThread: true }) : NaN;
  const events = (await metric(url, 'resonance_events_scored_total')) - before;
  const log = (await admin.sendCommand(['SLOWLOG', 'GET', '1000000'])) as [number, number, number, string[]][];
  await admin.configSet({ 'slowlog-log-slower-than': '10000', 'slowlog-max-len': '128' });
  const usec = new Map<string, number>();
  for (const [, , us, args] of log) {
    const cmd = String(args[0]).toUpperCase();
    const name = cmd === 'EVALSHA' ? (names.get(String(args[1])) ?? 'EVALSHA (other)') : cmd;
    usec.set(name, (usec.get(name) ?? 0) + Number(us));
  }
  const n = Math.max(1, events);
  return { calls: [...usec].map(([c, u]): [string, number] => [c, u / n]).sort((a, b) => b[1] - a[1]), mainUs: ((cpu1 - cpu0) * 1e6) / n };
}

function fmtStat(xs: number[]): [string, string, string] {
  return [fmt(median(xs)), fmt(Math.min(...xs)), fmt(Math.max(...xs))];
}
