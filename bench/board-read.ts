/**
 * `npx tsx bench/board-read.ts [--people N] [--brands N] [--reads N] [--rounds N]`:
 * what a page of the person leaderboard costs Redis now that it is read
 * from `global` without the brands (0.9.0, server/score/boards.ts), against
 * reading a stored board as versions before 0.9 did (ZRANGE and ZCARD). Both
 * boards are filled on one redis-server (no persistence), the same pages are
 * read from each in turn, the order swapping every round, and each read's
 * Redis time comes from `INFO commandstats`: the lines of the commands each
 * way sends (a script's line includes the commands it runs, which have lines
 * of their own too). Checks that both give the same page, and prints Redis
 * µs per read, medians with min and max.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeKeys } from '../server/infra/keys.js';
import { connectRedis } from '../server/infra/redis.js';
import { startRedisServer } from '../server/infra/redis-server.js';
import { personBoard } from '../server/score/boards.js';
import { commandStats, countOption, fmt, median } from './lib.js';

const { values } = parseArgs({
  options: { people: { type: 'string' }, brands: { type: 'string' }, reads: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(`npx tsx bench/board-read.ts [options]

  --people N   people on the board (default 100,000)
  --brands N   brands among them on global (default 200)
  --reads N    reads of each page per way and round (default 2,000)
  --rounds N   rounds, each way once per round, the order swapping (default 4)
  Prints Redis µs per read of the person board, derived (0.9.0) and stored (before).`);
  process.exit(0);
}
const PEOPLE = countOption('people', values.people, 100_000);
const BRANDS = countOption('brands', values.brands, 200);
const READS = countOption('reads', values.reads, 2_000);
const ROUNDS = countOption('rounds', values.rounds, 4);

const dir = mkdtempSync(join(tmpdir(), 'resonance-board-read-'));
const server = await startRedisServer({ dir, persistence: 'none' });
const redis = await connectRedis(server.url, 'bench-board-read');
const keys = makeKeys('{br}');
const stored = `${keys.base}stored:kind:person`;

type Member = { value: string; score: number };
type Page = { members: Member[]; total: number };
const ways: Record<'derived' | 'stored', (offset: number, limit: number) => Promise<Page>> = {
  derived: (offset, limit) => personBoard(redis, keys, offset, limit),
  stored: async (offset, limit) => {
    const [members, total] = await Promise.all([redis.zRangeWithScores(stored, offset, offset + limit - 1, { REV: true }), redis.zCard(stored)]);
    return { members, total };
  },
};

/** The commands each way sends itself: a script's time already includes the commands it runs. */
const sent: Record<keyof typeof ways, string[]> = { derived: ['EVALSHA', 'EVAL'], stored: ['ZRANGE', 'ZCARD'] };

/** Redis time of the commands `way` sends, since the last reset, µs. */
async function redisUsec(way: keyof typeof ways): Promise<number> {
  const stats = commandStats(await redis.info('commandstats'));
  return sent[way].reduce((n, c) => n + (stats.get(c)?.usec ?? 0), 0);
}

try {
  // Scores of one decimal place on 0–100, as scores are: many ties.
  let seed = 7;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const people: Member[] = Array.from({ length: PEOPLE }, (_, i) => ({ value: `x:person_${i}`, score: Math.round(rand() * 1000) / 10 }));
  const brands: Member[] = Array.from({ length: BRANDS }, (_, i) => ({ value: `brand_${i}`, score: Math.round(rand() * 1000) / 10 }));
  for (let i = 0; i < people.length; i += 10_000) {
    await redis.zAdd(keys.leaderboard('global'), people.slice(i, i + 10_000));
    await redis.zAdd(stored, people.slice(i, i + 10_000));
  }
  if (brands.length > 0) {
    await redis.zAdd(keys.leaderboard('global'), brands);
    await redis.zAdd(keys.leaderboard('kind:brand'), brands);
  }
  const pages = [
    { name: 'top 10 (a widget)', offset: 0, limit: 10 },
    { name: 'top 100 (the live channel)', offset: 0, limit: 100 },
    { name: `100 from ${fmt(Math.floor(PEOPLE / 2))}`, offset: Math.floor(PEOPLE / 2), limit: 100 },
  ];
  const rows: string[] = [];
  for (const page of pages) {
    const [a, b] = await Promise.all([ways.derived(page.offset, page.limit), ways.stored(page.offset, page.limit)]);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the derived and the stored board differ at ${page.name}`);
    const usec: Record<string, number[]> = { derived: [], stored: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of round % 2 === 0 ? (['derived', 'stored'] as const) : (['stored', 'derived'] as const)) {
        await redis.configResetStat();
        for (let i = 0; i < READS; i++) await ways[way](page.offset, page.limit);
        usec[way]!.push((await redisUsec(way)) / READS);
      }
    }
    const cell = (l: number[]) => `${median(l).toFixed(1)} (${Math.min(...l).toFixed(1)}–${Math.max(...l).toFixed(1)})`;
    rows.push(`| ${page.name} | ${cell(usec.derived!)} | ${cell(usec.stored!)} | ${(median(usec.derived!) / median(usec.stored!)).toFixed(1)}× |`);
  }
  console.log(`\n${fmt(PEOPLE)} people and ${fmt(BRANDS)} brands on global, ${fmt(READS)} reads per way and round, medians of ${ROUNDS} rounds:\n`);
  console.log('| page of the person board | Redis µs per read, derived (0.9.0) | stored (before 0.9) | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
} finally {
  await redis.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
