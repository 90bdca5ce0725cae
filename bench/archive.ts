/**
 * `npx tsx bench/archive.ts [--events N] [--rounds N]`: what archiving the
 * log costs per event, in CPU time (Node and Redis) and bytes on disk. The
 * demo mix is appended to a stream as ingest stores it, marked scored, and
 * archived and trimmed by the archiver in its rounds of 10,000; then read
 * back as a rebuild reads it. Medians over the rounds.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { makeKeys } from '../server/infra/keys.js';
import { connectRedis } from '../server/infra/redis.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { archiveState, readArchive, startArchiver } from '../server/score/archive.js';
import { validateEvent } from '../shared/validate.js';
import { demoEvents, fmt, median, redisCpuSeconds } from './lib.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('npx tsx bench/archive.ts [--events N (default 200,000)] [--rounds N (default 3)]');
  process.exit(0);
}
const EVENTS = Number(values.events ?? 200_000);
const ROUNDS = Number(values.rounds ?? 3);
const silent = pino({ level: 'silent' });

const lines = demoEvents(2_000, EVENTS, 3).flatMap((e) => {
  const r = validateEvent(e, Date.now());
  return r.ok ? [JSON.stringify(r.event)] : [];
});
const dir = mkdtempSync(join(tmpdir(), 'resonance-archive-bench-'));
const redis = await startRedisServer({ dir: join(dir, 'redis'), persistence: 'aof' });
const client = await connectRedis(redis.url, 'bench-archive');
const redisCpu = () => redisCpuSeconds(client);
const rows = { node: [] as number[], redis: [] as number[], bytes: [] as number[], read: [] as number[], streamBefore: [] as number[] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const keys = makeKeys(`{arch${round}}`);
    for (let i = 0; i < lines.length; i += 1000) {
      const m = client.multi();
      for (const e of lines.slice(i, i + 1000)) m.xAdd(keys.stream, '*', { e, q: '12.5', f: '1790000000000' });
      await m.execAsPipeline();
    }
    const last = (await client.xRevRange(keys.stream, '+', '-', { COUNT: 1 }))![0]!.id;
    await client.hSet(keys.meta, 'wm', last);
    rows.streamBefore.push(Number((await client.memoryUsage(keys.stream)) ?? 0) / lines.length);
    const out = join(dir, `archive-${round}`);
    const archiver = startArchiver({ redis: client, keys, dir: out, log: silent, instance: 'bench', manual: true });
    const [n0, r0] = [process.cpuUsage(), await redisCpu()];
    let archived = 0;
    for (let n = await archiver.runOnce(); n > 0; n = await archiver.runOnce()) archived += n;
    const node = process.cpuUsage(n0);
    const r1 = await redisCpu();
    await archiver.stop();
    if (archived !== lines.length || (await client.xLen(keys.stream)) > 100) throw new Error(`archived ${archived} of ${lines.length}`);
    rows.node.push((node.user + node.system) / archived);
    rows.redis.push(((r1 - r0) * 1e6) / archived);
    rows.bytes.push(readdirSync(out).reduce((n, f) => n + statSync(join(out, f)).size, 0) / archived);
    const t0 = process.cpuUsage();
    let read = 0;
    for await (const chunk of readArchive(out, await archiveState(client, keys))) read += chunk.length;
    const t = process.cpuUsage(t0);
    if (read !== archived) throw new Error(`read ${read} of ${archived}`);
    rows.read.push((t.user + t.system) / read);
    console.log(`  round ${round + 1}: Node ${fmt(rows.node.at(-1)!, 2)} µs, Redis ${fmt(rows.redis.at(-1)!, 2)} µs, ${fmt(rows.bytes.at(-1)!, 1)} B on disk per event`);
  }
  console.log(`\n| archiving ${fmt(lines.length)} demo events, medians of ${ROUNDS} | per event |`);
  console.log('| --- | ---: |');
  console.log(`| Node CPU to archive (XRANGE, JSON, gzip level 1, write, fdatasync, commit), µs | ${fmt(median(rows.node), 2)} |`);
  console.log(`| Redis CPU to archive (XRANGE, commit, XTRIM), µs | ${fmt(median(rows.redis), 2)} |`);
  console.log(`| bytes on disk | ${fmt(median(rows.bytes), 1)} |`);
  console.log(`| bytes in the Redis stream before archiving (MEMORY USAGE) | ${fmt(median(rows.streamBefore), 1)} |`);
  console.log(`| Node CPU to read it back (gunzip, JSON), as a rebuild does, µs | ${fmt(median(rows.read), 2)} |`);
} finally {
  await client.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
