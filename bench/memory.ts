/**
 * Redis memory per scored account: feeds the demo simulator's history
 * (by default 2,000 accounts, 100,000 events: busy accounts) through the real
 * app and its own redis-server, then sums MEMORY USAGE by kind of key, and
 * gives Redis's used_memory per account once the stream and the
 * deduplication sets are deleted (exact, where MEMORY USAGE samples big keys).
 *
 *   npx tsx bench/memory.ts [--accounts 2000] [--events 100000]
 *   npx tsx bench/memory.ts --accounts 20000 --events 600000   # the benchmark's ~31 events per account
 *   npx tsx bench/memory.ts --accounts 20000 --events 660000 --hours 1   # the full benchmark's shape: an hour of activity
 *   npx tsx bench/memory.ts --show     # also prints one key of each kind (a middling one) with its contents
 */
import { parseArgs } from 'node:util';
import { DEMO_PREFIX, scoreDemo } from './demo-app.js';
import { countOption } from './lib.js';
const { values } = parseArgs({
  options: {
    accounts: { type: 'string' },
    events: { type: 'string' },
    hours: { type: 'string' },
    show: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`npx tsx bench/memory.ts [options]

  --accounts N   accounts in the demo's population (default 2,000)
  --events N     history events fed after one profile per account (default 100,000)
  --hours N      the span of event time they are spread over (default 168, a week; the
                 full benchmark's is 1)
  --show         also print one key of each kind (a middling one) with its contents
  Prints MEMORY USAGE summed by kind of key, per account, and used_memory per account.`);
  process.exit(0);
}
const ACCOUNTS = countOption('accounts', values.accounts, 2_000);
const EVENTS = countOption('events', values.events, 100_000);
const HOURS = countOption('hours', values.hours, 168);
const demo = await scoreDemo({ accounts: ACCOUNTS, events: EVENTS, persistence: 'none', historyDays: HOURS / 24 });
console.log(`scored ${demo.events} events in`, demo.seconds, 's');
const r = demo.app.redis;
const types: Record<string, { n: number; bytes: number; sizes: [number, string][]; encodings: Record<string, number> }> = {};
for await (const batch of r.scanIterator({ MATCH: `${DEMO_PREFIX}:*`, COUNT: 1000 })) {
  const [sizes, encodings] = await Promise.all([Promise.all(batch.map((k) => r.memoryUsage(k))), Promise.all(batch.map((k) => r.objectEncoding(k)))]);
  batch.forEach((k, i) => {
    const t = k.split(':')[1]!;
    const v = (types[t] ??= { n: 0, bytes: 0, sizes: [], encodings: {} });
    v.n++;
    v.bytes += Number(sizes[i] ?? 0);
    const e = String(encodings[i]);
    v.encodings[e] = (v.encodings[e] ?? 0) + 1;
    if (values.show) v.sizes.push([Number(sizes[i] ?? 0), k]);
  });
}
const accounts = types['a']!.n;
const info = await r.info('memory');
console.log('accounts', accounts, 'used_memory', info.match(/used_memory:(\d+)/)![1], 'per account', Math.round(Number(info.match(/used_memory:(\d+)/)![1]) / accounts));
// The encodings say whether a kind of key stays compact (listpack) as accounts gather activity.
for (const [t, v] of Object.entries(types).sort((a, b) => b[1].bytes - a[1].bytes))
  console.log(t.padEnd(8), String(v.n).padStart(7), 'keys', String(Math.round(v.bytes / v.n)).padStart(7), 'B/key', String(Math.round(v.bytes / accounts)).padStart(7), 'B/account ', Object.entries(v.encodings).map(([e, n]) => `${e} ${n}`).join(', '));
if (values.show) {
  for (const v of Object.values(types).filter((x) => x.n > 1)) {
    const [bytes, key] = v.sizes.sort((a, b) => a[0] - b[0])[Math.floor(v.sizes.length / 2)]!;
    const kind = await r.type(key);
    const body =
      kind === 'hash' ? await r.hGetAll(key) : kind === 'zset' ? await r.zRangeWithScores(key, 0, -1) : kind === 'set' ? await r.sMembers(key) : `(${kind}, ${await r.strLen(key)} bytes)`;
    console.log(`\n${key} (${kind}, ${bytes} B, ${await r.objectEncoding(key)}):`, JSON.stringify(body));
  }
}
// MEMORY USAGE samples big keys (the stream, the boards): the exact figure is used_memory once the
// stream and the deduplication sets are gone, which is what the scores themselves take.
await demo.app.pipeline?.stop();
await r.del(`${DEMO_PREFIX}:events`);
for await (const batch of r.scanIterator({ MATCH: `${DEMO_PREFIX}:dd:*`, COUNT: 1000 })) if (batch.length > 0) await r.del(batch);
const derived = Number((await r.info('memory')).match(/used_memory:(\d+)/)![1]);
console.log('used_memory without the stream and dedupe', derived, 'per account', Math.round(derived / accounts));
await demo.close();
