/**
 * Latency from an event accepted to the update received by a socket.io
 * client, under background load. Five probe accounts are subscribed; for
 * each, one reply to it is posted, the time until its entity update arrives
 * is recorded, and the next is posted 100 ms later. Background demo events are offered at a fixed rate by a paced,
 * bounded feeder.
 */
import { io as connect } from 'socket.io-client';
import type { UpdateMessage } from '../shared/live.js';
import { demoEvents, median, ndjsonChunks, paced, percentile, sleep, startServer } from './lib.js';

export interface LatencyResult {
  load: number;
  achieved: number;
  p50: number;
  p95: number;
  p99: number;
  samples: number;
}

/** Probe accounts measured at once. */
const PROBES = 5;

export async function runLatency(redisUrl: string, loads: number[], seconds: number): Promise<LatencyResult[]> {
  const out: LatencyResult[] = [];
  const background = demoEvents(20_000, Math.max(...loads) * seconds + 1000, 11);
  for (const load of loads) {
    const server = await startServer(redisUrl, `{bench-lat-${load}}`);
    const socket = connect(`${server.url}/live`, { transports: ['websocket'], forceNew: true });
    await new Promise<void>((ok) => socket.once('connect', () => ok()));
    // Several probe accounts, each on its own channel, so that a 10 s window yields a few hundred samples.
    const probes = Array.from({ length: PROBES }, (_, p) => ({ name: `probe${load}-${p}`, seen: 0, waiting: new Map<number, (t: number) => void>() }));
    const byChannel = new Map(probes.map((p) => [`entity:x:${p.name}`, p]));
    socket.on('update', (m: UpdateMessage) => {
      const p = byChannel.get(m.channel);
      if (!p) return;
      p.seen++;
      // A probe posted when `k` updates had been seen is answered by the next one.
      for (const [k, resolve] of p.waiting) {
        if (k < p.seen) {
          p.waiting.delete(k);
          resolve(performance.now());
        }
      }
    });
    for (const p of probes) await new Promise((ok) => socket.emit('subscribe', `entity:x:${p.name}`, ok));
    // Paced background load: one chunk every 100 ms, at most `seconds` long.
    const perTick = Math.max(1, Math.round(load / 10));
    const chunks = ndjsonChunks(background.slice(0, perTick * 10 * seconds), perTick);
    let sent = 0;
    const t0 = performance.now();
    const feeder = paced(seconds, 100, async (i) => {
      const res = await fetch(`${server.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: chunks[i] });
      if (res.status === 202) sent += ((await res.json()) as { accepted: number }).accepted;
      else await res.arrayBuffer();
    });
    const samples: number[] = [];
    await Promise.all(
      probes.map(async (p, n) => {
        // Staggered starts, so the probes do not all post in the same instant.
        await sleep((100 / PROBES) * n);
        for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
          const target = p.seen;
          const start = performance.now();
          const arrived = new Promise<number>((ok) => p.waiting.set(target, ok));
          await fetch(`${server.url}/api/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: `lat-${p.name}-${i}`, network: 'x', type: 'reply', actor: `latfan${n}-${i}`, target: p.name, ts: Date.now() }),
          });
          const t = await Promise.race([arrived, sleep(5000).then(() => NaN)]);
          p.waiting.delete(target);
          if (Number.isFinite(t)) samples.push(t - start);
          // A channel sends at most every 100 ms: waiting that long keeps its throttle out of the measure.
          await sleep(100);
        }
      }),
    );
    await feeder;
    const elapsed = (performance.now() - t0) / 1000;
    out.push({ load, achieved: sent / elapsed, p50: median(samples), p95: percentile(samples, 95), p99: percentile(samples, 99), samples: samples.length });
    socket.disconnect();
    await server.stop();
  }
  return out;
}
