/**
 * How much a longer window coalesces: the demo's mix for a population of
 * accounts, aggregated per key (`aggregate`) in windows of several sizes, and
 * the deltas per event that APPLY would then get (those that change an
 * account's state, and those that only say it was seen). A scorer that kept
 * state in memory and wrote it behind every few seconds would write each
 * touched account once per window ("What 100,000 events/s would take" in
 * docs/benchmarks.md): this counts how many that is. Node only, no Redis.
 *
 *   npx tsx bench/coalesce.ts [--accounts 100000] [--events 3000000] [--windows 1000,10000,100000,300000,1000000]
 */
import { parseArgs } from 'node:util';
import { validateEvent } from '../shared/validate.js';
import { aggregate } from '../server/score/aggregate.js';
import { deltaArgs } from '../server/score/apply-args.js';
import { modelParams } from '../server/score/model.js';
import { countOption, demoEvents, fmt } from './lib.js';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string' },
    events: { type: 'string' },
    windows: { type: 'string', default: '1000,10000,100000,300000,1000000' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`npx tsx bench/coalesce.ts [options]

  --accounts N     the demo's population (default 100,000, the benchmark's)
  --events N       events of the demo's mix after one profile per account (default 3,000,000)
  --windows LIST   window sizes in events (default 1000,10000,100000,300000,1000000; 2,000 is
                   the scorer's batch since 0.12.4; at 100,000 events/s, 100,000 is a second)
  Prints, per window size, the deltas per event APPLY would get: all of them, and those
  that change an account's state (the rest only say an account was seen).`);
  process.exit(0);
}
const ACCOUNTS = countOption('accounts', values.accounts, 100_000);
const EVENTS = countOption('events', values.events, 3_000_000);
const windows = values.windows.split(',').map((w) => countOption('windows', w.trim(), 1));
const P = modelParams(30);
const events = demoEvents(ACCOUNTS, EVENTS, 7)
  .slice(ACCOUNTS)
  .map((e) => {
    const r = validateEvent(e, Date.now());
    if (!r.ok) throw new Error(`the demo made an invalid event: ${JSON.stringify(e)}`);
    return r.event;
  });
console.log(`${fmt(events.length)} events of the demo's mix, ${fmt(ACCOUNTS)} accounts`);
for (const size of windows) {
  let deltas = 0;
  let state = 0;
  let n = 0;
  // Every whole window of the events (at most 30: enough for a mean, and quick for small windows).
  for (let i = 0, k = 0; i + size <= events.length && k < 30; i += size, k++) {
    const args = deltaArgs(aggregate(events.slice(i, i + size), P).values());
    deltas += args.length;
    state += args.filter((a) => !a.startsWith('T|')).length;
    n += size;
  }
  if (n === 0) console.log(`window ${fmt(size)}: longer than the events`);
  else console.log(`window ${fmt(size)} events: ${fmt(deltas / n, 3)} deltas per event, ${fmt(state / n, 3)} of them changing state`);
}
