/**
 * Fan-out: a server with `n` live socket.io clients (bench/fanout-clients.ts,
 * in `procs` processes of their own, each a slice of the clients) while a
 * paced, bounded feeder keeps the watched entities moving. Reports updates
 * delivered per second, latency (event accepted → update received) p50/p99
 * over every client process's samples, server RSS per connection, server CPU
 * per delivered update and the server's publish interval (its pace).
 *
 * One client process is one thread parsing every frame its clients get: at
 * 5,000 clients it runs at ~0.92 of a core, so its own queue, not the
 * server, sets the latency it measures. Two processes share that work.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { median, metric, paced, percentile, processCpuSeconds, rssBytes, sleep, startServer } from './lib.js';

export interface FanoutResult {
  clients: number;
  /** The leaderboard channel every tenth client watches. */
  board: string;
  connected: number;
  perSec: number;
  p50: number;
  p99: number;
  rssPerClient: number;
  serverCpuUsPerUpdate: number;
  /** Client processes the clients were spread over. */
  procs: number;
  /** Cores the client processes used over the window, together (1 = all of one). */
  clientCores: number;
  /** Cores the server used over the window. */
  serverCores: number;
  /** The server's least interval between two updates of a channel over the window, median of its samples, ms. */
  intervalMs: number;
  /** Events per second the feeder offered. */
  load: number;
}

/** Hot entities the clients watch (each client one of them). */
const ENTITIES = 50;
/** Every BOARD_EVERY-th client also watches the global leaderboard (100 entries a frame). */
const BOARD_EVERY = 10;
const LOAD = 1000;
/** Handshakes under way at once, over all client processes. */
const WAVE = 250;

/** Each run its own keys and event ids (a repeated id would be a duplicate, and nothing would move). */
let runs = 0;

/** What one client process reports at the end of its window. */
interface ClientsResult {
  delivered: number;
  elapsed: number;
  clientCores: number;
  /** Latency samples, ms (every fourth update). */
  latencies: number[];
}

export async function runFanout(redisUrl: string, counts: number[], seconds: number, board = 'leaderboard:global', procs = 1): Promise<FanoutResult[]> {
  const out: FanoutResult[] = [];
  for (const n of counts) {
    const run = runs++;
    const server = await startServer(redisUrl, `{bench-fan-${run}}`);
    const post = async (events: object[]) => {
      const res = await fetch(`${server.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      await res.arrayBuffer();
    };
    let k = 0;
    const tick = (size: number) =>
      Array.from({ length: size }, () => {
        const i = k++;
        return { id: `fan-${run}-${i}`, network: 'x', type: i % 3 === 0 ? 'share' : 'reply', actor: `fanfan${i % 5000}`, target: `hot${i % ENTITIES}`, post: `hp${i % ENTITIES}`, ts: Date.now() };
      });
    // Every watched entity exists before the clients subscribe.
    await post(tick(ENTITIES * 2));
    await sleep(1000);
    const rss0 = rssBytes(server.pid);
    // The clients in `procs` processes, each its own slice (one process parses at most one core's worth of frames),
    // all connecting at once in waves of WAVE together. (One process after another would put each process's sockets
    // together in the server's rooms, so that one process parses its frames while the other waits for its own.)
    // With BENCH_CPU_PROF each client process writes its profiles too, in `clients-<n>-<k>/` there.
    const children = Array.from({ length: procs }, (_, k) => {
      const first = Math.floor((n * k) / procs);
      const count = Math.floor((n * (k + 1)) / procs) - first;
      const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/clients-${n}-${k}`] : [];
      const child = spawn(
        process.execPath,
        [...process.execArgv, ...prof, 'bench/fanout-clients.ts', server.url, String(count), String(seconds), String(ENTITIES), String(BOARD_EVERY), board, String(first), String(Math.ceil(WAVE / procs))],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const lines = createInterface({ input: child.stdout! });
      const next = <T>() =>
        new Promise<T>((ok, fail) => {
          lines.once('line', (l) => ok(JSON.parse(l) as T));
          child.once('exit', (code) => fail(new Error(`a client process exited (${code})`)));
        });
      return { child, lines, next };
    });
    // A client process that fails leaves none of the others behind (they exit by themselves after their window).
    try {
      const ready = await Promise.all(children.map((c) => c.next<{ ready: number }>()));
      await sleep(1000);
      const rss1 = rssBytes(server.pid);
      const cpu0 = processCpuSeconds(server.pid);
      const done = Promise.all(children.map((c) => c.next<ClientsResult>()));
      for (const c of children) c.child.stdin!.write('go\n');
      // The server's publish interval (its pace, server/push/pace.ts), read each half second of the window.
      const intervals: number[] = [];
      const sampler = setInterval(() => void metric(server.url, 'resonance_live_publish_interval_seconds').then((v) => intervals.push(v * 1000)), 500);
      // Paced feed for the measured window: LOAD events a second in ticks of 100 ms.
      await paced(seconds, 100, () => post(tick(LOAD / 10))).finally(() => clearInterval(sampler));
      const rs = await done;
      const cpu = processCpuSeconds(server.pid) - cpu0;
      const delivered = rs.reduce((a, r) => a + r.delivered, 0);
      const latencies = rs.flatMap((r) => r.latencies);
      out.push({
        clients: n,
        board,
        procs,
        connected: ready.reduce((a, r) => a + (r.ready ?? 0), 0),
        perSec: rs.reduce((a, r) => a + r.delivered / r.elapsed, 0),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        rssPerClient: (Math.max(rss1, rssBytes(server.pid)) - rss0) / Math.max(1, n),
        serverCpuUsPerUpdate: (cpu * 1e6) / Math.max(1, delivered),
        clientCores: rs.reduce((a, r) => a + r.clientCores, 0),
        serverCores: cpu / seconds,
        intervalMs: median(intervals),
        load: LOAD,
      });
    } finally {
      for (const c of children) {
        c.lines.close();
        if (c.child.exitCode === null) c.child.kill();
      }
      await server.stop();
    }
  }
  return out;
}
