/**
 * `npx tsx bench/stream-read.ts [--entries N] [--rounds N]`: what reading the
 * log costs Redis per event, the way the scorer read it before 0.8.1
 * (XREADGROUP, then XACK per batch) against the way it reads now
 * (XREADGROUP NOACK, the watermark saying what is applied). The demo mix is
 * appended to two streams as ingest stores it, then read back in batches of
 * 1,000 by each way in turn, the order swapping every round, on one
 * redis-server with AOF on as the private server runs. Prints Redis CPU µs
 * per entry (main thread: INFO cpu) and AOF bytes per entry, medians with min
 * and max over the rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectRedis, type RedisClient } from '../server/infra/redis.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { validateEvent } from '../shared/validate.js';
import { countOption, demoEvents, fmt, median, redisCpuSeconds } from './lib.js';

const { values } = parseArgs({ options: { entries: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(`npx tsx bench/stream-read.ts [options]

  --entries N   entries read by each way per round (default 50,000)
  --rounds N    rounds, each way once per round, the order swapping (default 6)
  Prints Redis CPU µs and AOF bytes per entry for XREADGROUP + XACK and for XREADGROUP NOACK.`);
  process.exit(0);
}
const ENTRIES = countOption('entries', values.entries, 50_000);
const ROUNDS = countOption('rounds', values.rounds, 6);
const BATCH = 1_000;

const lines = demoEvents(2_000, ENTRIES, 5).flatMap((e) => {
  const r = validateEvent(e, Date.now());
  return r.ok ? [JSON.stringify(r.event)] : [];
});
const dir = mkdtempSync(join(tmpdir(), 'resonance-stream-read-'));
const server = await startRedisServer({ dir, persistence: 'aof' });
const redis = await connectRedis(server.url, 'bench-stream-read');

async function aofBytes(r: RedisClient): Promise<number> {
  const info = await r.info('persistence');
  return Number(/aof_current_size:(\d+)/.exec(info)?.[1] ?? NaN);
}

type Way = 'ack' | 'noack';
const label: Record<Way, string> = { ack: 'XREADGROUP, then XACK per batch (before 0.8.1)', noack: 'XREADGROUP NOACK (0.8.1)' };
const cpu: Record<Way, number[]> = { ack: [], noack: [] };
const aof: Record<Way, number[]> = { ack: [], noack: [] };

try {
  for (let round = 0; round < ROUNDS; round++) {
    const ways: Way[] = round % 2 === 0 ? ['ack', 'noack'] : ['noack', 'ack'];
    for (const way of ways) {
      const key = `{sr}:events:${way}:${round}`;
      await redis.xGroupCreate(key, 'scorers', '0', { MKSTREAM: true });
      for (let i = 0; i < lines.length; i += BATCH) {
        const m = redis.multi();
        for (const e of lines.slice(i, i + BATCH)) m.xAdd(key, '*', { e, q: '1', f: '0' });
        await m.execAsPipeline();
      }
      const [c0, b0] = [await redisCpuSeconds(redis), await aofBytes(redis)];
      let n = 0;
      for (;;) {
        const res = await redis.xReadGroup('scorers', 'scorer', { key, id: '>' }, { COUNT: BATCH, NOACK: way === 'noack' });
        const messages: { id: string }[] = (res as { messages: { id: string }[] }[] | null)?.[0]?.messages ?? [];
        if (messages.length === 0) break;
        n += messages.length;
        if (way === 'ack') await redis.xAck(key, 'scorers', messages.map((m) => m.id));
      }
      const [c1, b1] = [await redisCpuSeconds(redis), await aofBytes(redis)];
      cpu[way].push(((c1 - c0) * 1e6) / n);
      aof[way].push((b1 - b0) / n);
      await redis.del(key);
    }
  }
  console.log(`${lines.length.toLocaleString('en-US')} entries of the demo mix per way and round, ${ROUNDS} rounds, batches of ${BATCH.toLocaleString('en-US')}, AOF on`);
  console.log('| way | Redis CPU µs per entry, median (min–max) | AOF bytes per entry, median |');
  console.log('| --- | ---: | ---: |');
  for (const way of ['ack', 'noack'] as Way[]) {
    console.log(`| ${label[way]} | ${fmt(median(cpu[way]), 2)} (${fmt(Math.min(...cpu[way]), 2)}–${fmt(Math.max(...cpu[way]), 2)}) | ${fmt(median(aof[way]))} |`);
  }
} finally {
  await redis.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
