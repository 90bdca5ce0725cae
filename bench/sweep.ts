/**
 * `npx tsx bench/sweep.ts [--entities N] [--look N,N...] [--rounds N]`: how
 * long one decay sweep (SWEEP in server/score/write-scripts.ts, 0.11.0)
 * holds Redis, by how many entries of the global board it looks at. Fills a
 * redis-server (no persistence) with N account records shaped like the
 * demo's (~25 fields, scored recently, so that none is stale and every
 * entry looked at is read) and the global board, then runs sweeps, the
 * sizes in turn, and reads each script's time from SLOWLOG. A script holds
 * Redis for all of its time: whatever comes in meanwhile waits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeKeys } from '../server/infra/keys.js';
import { connectRedis } from '../server/infra/redis.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { SWEEP_LOOK } from '../server/score/store.js';
import { SWEEP } from '../server/score/write-scripts.js';
import { countOption, fmt, median } from './lib.js';

const { values } = parseArgs({ options: { entities: { type: 'string' }, look: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(`npx tsx bench/sweep.ts [options]

  --entities N   account records on the global board (default 100,000)
  --look LIST    entries a sweep looks at, comma-separated (default 500,${SWEEP_LOOK},5000)
  --rounds N     sweeps of each size (default 20)
  Prints the Redis time of one sweep (µs, median, min and max) for each size.`);
  process.exit(0);
}
const ENTITIES = countOption('entities', values.entities, 100_000);
const ROUNDS = countOption('rounds', values.rounds, 20);
const LOOKS = (values.look ?? `500,${SWEEP_LOOK},5000`).split(',').map((x) => countOption('look', x, 1));

const dir = mkdtempSync(join(tmpdir(), 'resonance-sweep-bench-'));
const server = await startRedisServer({ dir, persistence: 'none' });
const redis = await connectRedis(server.url, 'bench-sweep');
try {
  const keys = makeKeys('{sw}');
  const T = Date.UTC(2026, 10, 1);
  for (let i = 0; i < ENTITIES; i += 1000) {
    const m = redis.multi();
    const n = Math.min(1000, ENTITIES - i);
    for (let j = i; j < i + n; j++) {
      const h: Record<string, string> = { s: '5.5', scopes: '', at: String(T), last: String(T), first: String(T), fts: String(T), nts: String(T), name: 'Some Name', f: '120', c: '25.8', hs: '29929481:5.5;498824:5.5', hv: '3', s0: '5.5', s0t: String(T), u: String(T), E: '51046506.47735887', N: '14', D: '14' };
      for (let k = 0; k < 5; k++) h[`t:topic${k}`] = '1|1||||20784';
      m.hSet(keys.account(`x:a${j}`), h);
    }
    m.zAdd(keys.leaderboard('global'), Array.from({ length: n }, (_, k) => ({ value: `x:a${i + k}`, score: ((i + k) % 991) / 10 + 1 })));
    await m.exec();
  }
  await redis.configSet('slowlog-log-slower-than', '0');
  await redis.configSet('slowlog-max-len', '100000');
  const times = new Map<number, number[]>(LOOKS.map((l) => [l, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const look of round % 2 ? [...LOOKS].reverse() : LOOKS) {
      await redis.sendCommand(['SLOWLOG', 'RESET']);
      const marked = Number(await SWEEP.run(redis, [keys.leaderboard('global'), keys.dirty, keys.meta], [keys.base, String(T - 1), String(look), '500']));
      if (marked !== 0) throw new Error(`a sweep marked ${marked} records, none of which is stale`);
      const log = (await redis.sendCommand(['SLOWLOG', 'GET', '-1'])) as [number, number, number, string[]][];
      times.get(look)!.push(log.filter((e) => String(e[3][0]).toUpperCase().startsWith('EVAL')).reduce((a, e) => a + Number(e[2]), 0));
    }
  }
  console.log(`| one sweep, ${fmt(ENTITIES)} records, none stale, ${ROUNDS} rounds | Redis µs, median | min | max | µs per entry looked at |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [look, t] of times) console.log(`| looking at ${fmt(look)} entries${look === SWEEP_LOOK ? ' (the pipeline\'s)' : ''} | ${fmt(median(t))} | ${fmt(Math.min(...t))} | ${fmt(Math.max(...t))} | ${(median(t) / look).toFixed(2)} |`);
} finally {
  await redis.quit();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
