/**
 * Latency from an event accepted to the update received by a socket.io
 * client, under background load. Ten probes run at once; each subscribes to
 * the channel of an account nobody has seen, posts one reply to it (a first
 * score always changes, so an update is due), records the time until the
 * update arrives, unsubscribes, and starts the next 100 ms later with another
 * new account. Background demo events are offered at a fixed rate by a paced,
 * bounded feeder. A probe whose update has not come within PROBE_TIMEOUT_MS
 * counts as that late or later (the percentiles it reaches are reported as
 * "> 5,000"), and a probe refused with 503 (scoring behind) is counted, not
 * measured: neither is left out silently. (Probes to one account each time
 * would stop being answered once a reply no longer moves its rounded score.)
 */
import { io as connect } from 'socket.io-client';
import type { UpdateMessage } from '../shared/live.js';
import { coresOver, demoEvents, loopDelayMs, median, ndjsonChunks, paced, percentile, sleep, startServer, type Cores } from './lib.js';

export interface LatencyResult {
  load: number;
  achieved: number;
  p50: number;
  p95: number;
  p99: number;
  /** Probes accepted, whether answered in time or not. */
  samples: number;
  /** Of those, probes whose update had not come within PROBE_TIMEOUT_MS. */
  late: number;
  /** Probes refused with 503 while scoring was behind. */
  refused: number;
  /** Cores used while the load was offered. */
  cores: Cores;
  /** The server's event loop delay over the window, ms: how long work held it (NaN from a server without the metric). */
  loop: { p99: number; max: number };
}

export const PROBE_TIMEOUT_MS = 5000;

/** Probe accounts measured at once (5 before 0.9.0: ~200 samples at 10,000 events/s, so p99 was the 2nd slowest). */
const PROBES = 10;

/**
 * With `split`, the events (background and probes) go to an intake process
 * of its own (ROLE=ingest) and the probes' socket.io client watches a
 * ROLE=score,push one, as a deployment can run them.
 */
export async function runLatency(redisUrl: string, redisPid: number | undefined, loads: number[], seconds: number, split = false): Promise<LatencyResult[]> {
  const out: LatencyResult[] = [];
  const background = demoEvents(20_000, Math.max(...loads) * seconds + 1000, 11);
  for (const load of loads) {
    const server = await startServer(redisUrl, `{bench-lat-${load}}`, split ? { ROLE: 'score,push' } : {});
    const front = split ? await startServer(redisUrl, `{bench-lat-${load}}`, { ROLE: 'ingest' }) : null;
    const intake = front ?? server;
    const socket = connect(`${server.url}/live`, { transports: ['websocket'], forceNew: true });
    await new Promise<void>((ok) => socket.once('connect', () => ok()));
    // The one update expected on each probe's channel.
    const waiting = new Map<string, (t: number) => void>();
    socket.on('update', (m: UpdateMessage) => {
      const resolve = waiting.get(m.channel);
      if (resolve) {
        waiting.delete(m.channel);
        resolve(performance.now());
      }
    });
    // Paced background load: one chunk every 100 ms, at most `seconds` long.
    const perTick = Math.max(1, Math.round(load / 10));
    const chunks = ndjsonChunks(background.slice(0, perTick * 10 * seconds), perTick);
    let sent = 0;
    const cores = coresOver(redisPid, front ? [server.pid, front.pid] : server.pid);
    await loopDelayMs(server.url);
    const t0 = performance.now();
    const feeder = paced(seconds, 100, async (i) => {
      const res = await fetch(`${intake.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: chunks[i] });
      if (res.status === 202) sent += ((await res.json()) as { accepted: number }).accepted;
      else await res.arrayBuffer();
    });
    const samples: number[] = [];
    let late = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: PROBES }, async (_, n) => {
        // Staggered starts, so the probes do not all post in the same instant.
        await sleep((100 / PROBES) * n);
        for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
          const name = `probe${load}-${n}-${i}`;
          const channel = `entity:x:${name}`;
          await new Promise((ok) => socket.emit('subscribe', channel, ok));
          const arrived = new Promise<number>((ok) => waiting.set(channel, ok));
          const start = performance.now();
          const res = await fetch(`${intake.url}/api/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: `lat-${name}`, network: 'x', type: 'reply', actor: `latfan${n}-${i}`, target: name, ts: Date.now() }),
          });
          await res.arrayBuffer();
          const t = res.status === 202 ? await Promise.race([arrived, sleep(PROBE_TIMEOUT_MS).then(() => NaN)]) : null;
          waiting.delete(channel);
          socket.emit('unsubscribe', channel);
          if (t === null) refused++;
          else if (Number.isFinite(t)) samples.push(t - start);
          else {
            samples.push(Infinity);
            late++;
          }
          await sleep(100);
        }
      }),
    );
    await feeder;
    const elapsed = (performance.now() - t0) / 1000;
    const loop = await loopDelayMs(server.url);
    out.push({ load, achieved: sent / elapsed, p50: median(samples), p95: percentile(samples, 95), p99: percentile(samples, 99), samples: samples.length, late, refused, cores: cores(), loop });
    socket.disconnect();
    await front?.stop();
    await server.stop();
  }
  return out;
}
