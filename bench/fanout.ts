/**
 * Fan-out: a server with `n` live socket.io clients (in a separate process,
 * bench/fanout-clients.ts) while a paced, bounded feeder keeps the watched
 * entities moving. Reports updates delivered per second, latency (event
 * accepted → update received) p50/p99, server RSS per connection and server
 * CPU per delivered update.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { paced, processCpuSeconds, rssBytes, sleep, startServer } from './lib.js';

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
  /** Cores the client process used over the window (1 = all of one). */
  clientCores: number;
  /** Cores the server used over the window. */
  serverCores: number;
  /** Events per second the feeder offered. */
  load: number;
}

/** Hot entities the clients watch (each client one of them). */
const ENTITIES = 50;
/** Every BOARD_EVERY-th client also watches the global leaderboard (100 entries a frame). */
const BOARD_EVERY = 10;
const LOAD = 1000;

/** Each run its own keys and event ids (a repeated id would be a duplicate, and nothing would move). */
let runs = 0;

export async function runFanout(redisUrl: string, counts: number[], seconds: number, board = 'leaderboard:global'): Promise<FanoutResult[]> {
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
    // With BENCH_CPU_PROF the client process writes its profiles too, in `clients-<n>/` there.
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/clients-${n}`] : [];
    const clients = spawn(process.execPath, [...process.execArgv, ...prof, 'bench/fanout-clients.ts', server.url, String(n), String(seconds), String(ENTITIES), String(BOARD_EVERY), board], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: clients.stdout! });
    const next = () => new Promise<Record<string, number>>((ok, fail) => {
      lines.once('line', (l) => ok(JSON.parse(l) as Record<string, number>));
      clients.once('exit', (code) => fail(new Error(`the client process exited (${code})`)));
    });
    const ready = await next();
    await sleep(1000);
    const rss1 = rssBytes(server.pid);
    const cpu0 = processCpuSeconds(server.pid);
    const done = next();
    clients.stdin!.write('go\n');
    // Paced feed for the measured window: LOAD events a second in ticks of 100 ms.
    await paced(seconds, 100, () => post(tick(LOAD / 10)));
    const r = await done;
    const cpu = processCpuSeconds(server.pid) - cpu0;
    out.push({
      clients: n,
      board,
      connected: ready.ready ?? 0,
      perSec: r.perSec ?? NaN,
      p50: r.p50 ?? NaN,
      p99: r.p99 ?? NaN,
      rssPerClient: (Math.max(rss1, rssBytes(server.pid)) - rss0) / Math.max(1, n),
      serverCpuUsPerUpdate: (cpu * 1e6) / Math.max(1, r.delivered ?? 0),
      clientCores: r.clientCores ?? NaN,
      serverCores: cpu / seconds,
      load: LOAD,
    });
    lines.close();
    await server.stop();
  }
  return out;
}
