/**
 * An upgrade, checked: an older checkout (`--from`) scores the demo's
 * history on a redis-server of its own and answers a set of reads through
 * its API (leaderboards, the topics, and entities' records, explanations and
 * 30-day histories); then this checkout moves the older layouts
 * (`moveEarlierLayouts`, timed, with Redis's `used_memory` before and after)
 * and starts on the same Redis, and the same reads are compared. Engager
 * weights in explanations are compared to 0.1% (0.10.0 keeps them in
 * thousandths); everything else must read the same. Exits 1 when a read
 * differs.
 *
 *   npx tsx bench/upgrade.ts --from /path/to/older/checkout [--accounts 20000] [--events 600000]
 *
 * The older checkout needs its node_modules (a symlink to this one's will
 * do) and its own bench/demo-app.ts.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import app, { SERVER_OPTIONS } from '../server/app.js';
import { makeKeys } from '../server/infra/keys.js';
import { connectRedis } from '../server/infra/redis.js';
import { moveEarlierLayouts } from '../server/score/legacy.js';
import { countOption } from './lib.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    accounts: { type: 'string' },
    events: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || !values.from) {
  console.log(`npx tsx bench/upgrade.ts --from <older checkout> [options]

  --from DIR     the older version's checkout (with node_modules)
  --accounts N   accounts in the demo's population (default 20,000)
  --events N     history events fed after one profile per account (default 600,000)
  Scores the demo with the older version, moves its layouts with this one, and compares reads.`);
  process.exit(values.help ? 0 : 2);
}
const from = resolve(values.from);
const demoApp = `${from}/bench/demo-app.ts`;
if (!existsSync(demoApp) || !existsSync(`${from}/node_modules`)) {
  console.error(`--from must be a checkout with bench/demo-app.ts and node_modules: ${from}`);
  process.exit(2);
}
const ACCOUNTS = countOption('accounts', values.accounts, 20_000);
const EVENTS = countOption('events', values.events, 600_000);

type Demo = { app: FastifyInstance; redis: { url: string; stop(): Promise<void> } };
const older = (await import(demoApp)) as { DEMO_PREFIX: string; scoreDemo(o: { accounts: number; events: number; persistence: 'none' }): Promise<Demo> };
const demo = await older.scoreDemo({ accounts: ACCOUNTS, events: EVENTS, persistence: 'none' });
const urlOf = (f: FastifyInstance) => {
  const a = f.server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
};
const get = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;

/** The reads compared, by name. */
async function reads(base: string): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const topics = await get(`${base}/api/topics`);
  out.set('topics', topics);
  const scopes = ['global', 'kind:person', 'kind:brand', 'network:x', 'network:bluesky', ...(topics.topics as { topic: string }[]).slice(0, 5).map((t) => `topic:${t.topic}`)];
  const ids = new Set<string>();
  for (const scope of scopes) {
    const board = await get(`${base}/api/leaderboard?scope=${scope}&limit=100`);
    out.set(`leaderboard ${scope}`, board);
    for (const e of (board.entries as { id: string }[]).slice(0, 8)) ids.add(e.id);
  }
  for (const id of ids) {
    const at = `${base}/api/entities/${encodeURIComponent(id)}`;
    out.set(`entity ${id}`, await get(at));
    out.set(`explain ${id}`, await get(`${at}/explain`));
    out.set(`history ${id}`, await get(`${at}/history?range=30d`));
  }
  return out;
}

const before = await reads(urlOf(demo.app));
await demo.app.close();
const redis = await connectRedis(demo.redis.url, 'upgrade');
const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
const used0 = await used();
const t0 = performance.now();
const moved = await moveEarlierLayouts(redis, makeKeys(older.DEMO_PREFIX));
const seconds = (performance.now() - t0) / 1000;
console.log(`moved ${JSON.stringify(moved)} in ${seconds.toFixed(1)} s; used_memory ${(used0 / 1e6).toFixed(1)} → ${((await used()) / 1e6).toFixed(1)} MB`);

const f = Fastify({ ...SERVER_OPTIONS, logger: false });
await f.register(app, { redisUrl: demo.redis.url, keyPrefix: older.DEMO_PREFIX, ingestKeys: [], adminKey: undefined, embedOrigins: [], halfLifeDays: 30, dedupeWindowSec: 600, roles: new Set(['ingest', 'score', 'push'] as const), batchMaxSize: 1000, batchMaxWaitMs: 25, writeEveryMs: 100, webDir: '/nonexistent' });
await f.listen({ port: 0, host: '127.0.0.1' });
// Whatever the older version left dirty is written by this one's first score write.
await new Promise((ok) => setTimeout(ok, 1500));
const after = await reads(urlOf(f));

type Engager = { engager: string; weight: number };
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(Math.abs(a), Math.abs(b));
const differ = new Set<string>();
for (const [name, was] of before) {
  const now = { ...after.get(name) };
  const old = { ...was };
  if (name.startsWith('explain ')) {
    const [a, b] = [old.engagers as Engager[], now.engagers as Engager[]];
    if (a.length !== b?.length || a.some((e, i) => e.engager !== b[i]!.engager || !near(e.weight, b[i]!.weight))) {
      differ.add(name);
      console.log(`differs: ${name} engagers\n  before ${JSON.stringify(a)}\n  after  ${JSON.stringify(b)}`);
    }
    old.engagers = now.engagers = [];
  }
  if (JSON.stringify(old) !== JSON.stringify(now)) {
    differ.add(name);
    console.log(`differs: ${name}\n  before ${JSON.stringify(old).slice(0, 400)}\n  after  ${JSON.stringify(now).slice(0, 400)}`);
  }
}
console.log(`${before.size - differ.size} of ${before.size} reads the same (explanations' engager weights within 0.1%)`);
await f.close();
await redis.close();
await demo.redis.stop();
process.exit(differ.size > 0 ? 1 : 0);
