/**
 * `npx tsx bench/latency-at.ts [--rate N] [--seconds N]`: the benchmark's
 * latency measurement (`latency.ts`) at one rate of background load, for
 * longer than the full benchmark gives it, on a redis-server of its own (AOF
 * on). A p99 from the full benchmark's 10 s rests on its ~5 slowest of ~500
 * probes (ten at once since 0.9.0); 30 s gives ~1,700. Measures `dist/` (`npm run build` first), or
 * another build with BENCH_SERVER=<path to server.js>; the server's
 * environment passes through (say, WRITE_EVERY_MS=50).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../server/infra/redis-server.js';
import { PROBE_TIMEOUT_MS, runLatency } from './latency.js';
import { countOption, fmt, fmtCores, fmtLoop } from './lib.js';

const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, split: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(`npx tsx bench/latency-at.ts [options]

  --rate N      background events offered per second (default 10,000)
  --seconds N   how long the load and the probes run (default 30)
  --split       events to an intake process of its own (ROLE=ingest), the probes'
                client on a ROLE=score,push one (the event loop figures are that one's)
  Prints event → socket.io client latency p50 / p95 / p99, the probes, the rate achieved, how late
  the server's event loop ran (p99 and most) and the cores used.`);
  process.exit(0);
}
const RATE = countOption('rate', values.rate, 10_000);
const SECONDS = countOption('seconds', values.seconds, 30);
const dir = mkdtempSync(join(tmpdir(), 'resonance-latency-'));
const redis = await startRedisServer({ dir, persistence: 'aof' });
try {
  const [r] = await runLatency(redis.url, redis.pid, [RATE], SECONDS, values.split);
  const ms = (x: number) => (Number.isFinite(x) ? fmt(x) : `> ${fmt(PROBE_TIMEOUT_MS)}`);
  const late = r!.late ? `, ${r!.late} later than ${fmt(PROBE_TIMEOUT_MS)} ms` : '';
  const refused = r!.refused ? `, ${r!.refused} refused (503)` : '';
  const loop = fmtLoop(r!.loop) ? `; ${fmtLoop(r!.loop)}` : '';
  console.log(`${fmt(RATE)}/s offered (${fmt(r!.achieved)}/s achieved) for ${SECONDS} s: p50 / p95 / p99 ${ms(r!.p50)} / ${ms(r!.p95)} / ${ms(r!.p99)} ms, ${r!.samples} probes${late}${refused}${loop}; cores used: ${fmtCores(r!.cores)}`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
