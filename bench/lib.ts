/** Shared pieces of the benchmarks: a server process on its own Redis, demo events, statistics. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../server/ingest/demo.js';
import { freePort } from '../server/infra/redis-server.js';
import type { RedisClient } from '../server/infra/redis.js';
import type { ActivityEvent } from '../shared/event.js';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
export const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
/** A whole-number option of at least 1, or exit 2 with a clear message. */
export function countOption(name: string, raw: string | undefined, fallback: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number of at least 1, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ServerProc {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Where the benchmark's servers archive the scored stream, as a server does by default (`BENCH_ARCHIVE_DIR=none`: no archive); removed when the benchmark ends. */
const archiveRoot = mkdtempSync(join(tmpdir(), 'resonance-bench-archive-'));
process.once('exit', () => rmSync(archiveRoot, { recursive: true, force: true }));
/** The archive folder the benchmark's servers use, or null when they keep the whole log in the stream. */
export const benchArchiveDir = (): string | null => (process.env.BENCH_ARCHIVE_DIR === 'none' ? null : (process.env.BENCH_ARCHIVE_DIR ?? archiveRoot));

/**
 * The built server (dist/) as a child process on a free loopback port. With
 * BENCH_CPU_PROF=<dir> in the environment, every server writes a V8 CPU
 * profile there when it stops (open it in Chrome DevTools or speedscope).
 */
export async function startServer(redisUrl: string, prefix: string, env: Record<string, string> = {}): Promise<ServerProc> {
  const port = await freePort();
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // BENCH_SERVER=<path to server.js> measures another build (say, the previous release) with the same harness.
  const child = spawn(process.execPath, [...prof, process.env.BENCH_SERVER ?? 'dist/server/server.js'], {
    env: { ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ARCHIVE_DIR: process.env.BENCH_ARCHIVE_DIR ?? archiveRoot, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => null))?.ok) break;
    if (i > 300 || child.exitCode !== null) throw new Error('the server did not become ready');
    await sleep(100);
  }
  return {
    url,
    pid: child.pid!,
    child,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}

/** Calls `step(i)` every `tickMs` (one at a time) for `seconds`: a paced load that stops by itself. */
export async function paced(seconds: number, tickMs: number, step: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i * tickMs < seconds * 1000; i++) {
    const due = t0 + i * tickMs;
    if (performance.now() < due) await sleep(due - performance.now());
    await step(i);
  }
}

/** Deletes every key under `prefix` (a bench's own keys, between runs). */
export async function dropPrefix(redis: RedisClient, prefix: string): Promise<void> {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) if (keys.length) await redis.unlink(keys);
}

/** One scrape of the server's /metrics: a metric's value by name, NaN for one it does not give. */
async function scrape(url: string): Promise<(name: string) => number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

export async function metric(url: string, name: string): Promise<number> {
  const v = (await scrape(url))(name);
  return Number.isFinite(v) ? v : 0;
}

/** The server's event loop delay since the previous scrape of /metrics (which starts the next window), ms. */
export async function loopDelayMs(url: string): Promise<{ p99: number; max: number }> {
  const get = await scrape(url);
  return { p99: get('resonance_event_loop_delay_p99_seconds') * 1000, max: get('resonance_event_loop_delay_max_seconds') * 1000 };
}

/** `loopDelayMs`'s numbers as the tables print them; empty for a server without the metric. */
export const fmtLoop = (l: { p99: number; max: number }) => (Number.isFinite(l.max) ? `the server's event loop late by ${fmt(l.p99, 1)} ms at p99, ${fmt(l.max, 1)} at most` : '');

/** Resident memory of a process, bytes (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * The demo simulator's mix for a population of `accounts`: one profile each,
 * then `n` events stamped over the last hour. Ids are unique per call.
 */
export function demoEvents(accounts: number, n: number, seed: number): ActivityEvent[] {
  const sim = new Simulator({ seed, accounts });
  const now = Date.now() - 60_000;
  return [...sim.profiles(now - 3_600_000), ...sim.history(n, now - 3_600_000, now)];
}

export function ndjsonChunks(events: ActivityEvent[], size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size).map((e) => JSON.stringify(e)).join('\n'));
  return out;
}

/** A process's CPU seconds from /proc/<pid>/stat: its own (utime + stime) and its waited-for children's (cutime + cstime). */
function procCpu(pid: number): { own: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { own: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function processCpuSeconds(pid: number): number {
  return procCpu(pid).own;
}

/** CPU seconds of a process's children that have ended and been waited for (Redis's AOF rewrites, once each ends). */
export function childrenCpuSeconds(pid: number): number {
  return procCpu(pid).children;
}

/**
 * Seconds a process's main thread has spent on a CPU and waiting in the run
 * queue for one, from /proc/<pid>/schedstat (NaN where the kernel does not
 * keep it, or without a pid).
 */
export function mainThreadSchedSeconds(pid: number | undefined): { running: number; waiting: number } {
  if (!pid) return { running: NaN, waiting: NaN };
  try {
    const [run = NaN, wait = NaN] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { running: run / 1e9, waiting: wait / 1e9 };
  } catch {
    return { running: NaN, waiting: NaN };
  }
}

/** Cores used over a window (CPU seconds per second). */
export interface Cores {
  redis: number;
  server: number;
  /** This process: the load generator (and, for latency, the probes' client). */
  bench: number;
  /**
   * Shares of the window Redis's main thread (the one that runs every
   * command) spent on a CPU and waiting for one: together near 1, Redis is
   * the wall, whatever the cores add up to.
   */
  redisRunning: number;
  redisWaiting: number;
  /** Redis's AOF rewrites (child processes, counted as each ends): a fork that rereads the whole dataset, on the same cores. */
  redisRewrites: number;
}

/**
 * Starts measuring the cores Redis, the server and this process use; the
 * returned function gives them over the window so far. On a 2-core machine
 * these say which of the three is the wall.
 */
export function coresOver(redisPid: number | undefined, serverPids: number | number[]): () => Cores {
  const pids = Array.isArray(serverPids) ? serverPids : [serverPids];
  const serverCpu = () => pids.reduce((n, pid) => n + processCpuSeconds(pid), 0);
  const t0 = performance.now();
  const r0 = redisPid ? processCpuSeconds(redisPid) : NaN;
  const c0 = redisPid ? childrenCpuSeconds(redisPid) : NaN;
  const m0 = mainThreadSchedSeconds(redisPid);
  const s0 = serverCpu();
  const b0 = process.cpuUsage();
  return () => {
    const dt = (performance.now() - t0) / 1000;
    const b = process.cpuUsage(b0);
    const m = mainThreadSchedSeconds(redisPid);
    return {
      redis: redisPid ? (processCpuSeconds(redisPid) - r0) / dt : NaN,
      server: (serverCpu() - s0) / dt,
      bench: (b.user + b.system) / 1e6 / dt,
      redisRunning: (m.running - m0.running) / dt,
      redisWaiting: (m.waiting - m0.waiting) / dt,
      redisRewrites: redisPid ? (childrenCpuSeconds(redisPid) - c0) / dt : NaN,
    };
  };
}

/** The medians of several windows' cores. */
export function medianCores(list: Cores[]): Cores {
  const m = (k: keyof Cores) => median(list.map((c) => c[k]));
  return { redis: m('redis'), server: m('server'), bench: m('bench'), redisRunning: m('redisRunning'), redisWaiting: m('redisWaiting'), redisRewrites: m('redisRewrites') };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function fmtCores(c: Cores): string {
  const main = Number.isFinite(c.redisRunning) ? ` (its main thread running ${pct(c.redisRunning)}, waiting for a CPU ${pct(c.redisWaiting)} of the time)` : '';
  const rewrites = Number.isFinite(c.redisRewrites) ? `, its AOF rewrites ${c.redisRewrites.toFixed(2)}` : '';
  return `Redis ${c.redis.toFixed(2)}${main}${rewrites}, server ${c.server.toFixed(2)}, load generator ${c.bench.toFixed(2)}`;
}

/** Seconds of CPU (user + system) the Redis server has used so far, from INFO. */
export async function redisCpuSeconds(client: RedisClient, { mainThread = false } = {}): Promise<number> {
  const info = await client.info('cpu');
  const n = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const part = mainThread ? '_main_thread' : '';
  return n(`used_cpu_user${part}`) + n(`used_cpu_sys${part}`);
}

/**
 * Calls and µs by command (upper case) from INFO commandstats, leaving out
 * the INFO and CONFIG RESETSTAT of the measurement itself. A script's time
 * includes the commands it runs, which are also counted on their own.
 */
export function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)) {
    if (['info', 'config|resetstat'].includes(m[1]!)) continue;
    out.set(m[1]!.toUpperCase(), { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/**
 * Redis commands per scored event, in total and the twelve most frequent, and
 * Redis's time per scored event for the six costliest commands (EVALSHA's
 * time includes the commands its scripts run, which are also counted on their
 * own), from INFO commandstats.
 */
export function commandProfile(info: string, events: number): { perEvent: number; top: [string, number][]; usecPerEvent: [string, number][] } {
  const calls: [string, number][] = [];
  const usec: [string, number][] = [];
  for (const [name, c] of commandStats(info)) {
    calls.push([name, c.calls / Math.max(1, events)]);
    usec.push([name, c.usec / Math.max(1, events)]);
  }
  calls.sort((a, b) => b[1] - a[1]);
  usec.sort((a, b) => b[1] - a[1]);
  return { perEvent: calls.reduce((n, [, c]) => n + c, 0), top: calls.slice(0, 12), usecPerEvent: usec.slice(0, 6) };
}
