/**
 * `npx tsx bench/aof.ts [--accounts N] [--events N]`: what the AOF holds per
 * event scored, by command and kind of key. Feeds the demo's history
 * through the real app on a redis-server with AOF on (as the private server
 * runs, with automatic rewrites off so that the whole history stays in one
 * file), then reads the AOF back. Every byte here is written by Redis's main
 * thread, fsynced, and read again by every AOF rewrite, whose child process
 * shares the machine's cores with everything else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_PREFIX, scoreDemo } from './demo-app.js';
import { countOption, fmt } from './lib.js';

const { values } = parseArgs({ options: { accounts: { type: 'string' }, events: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(`npx tsx bench/aof.ts [options]

  --accounts N   accounts in the demo's population (default 2,000)
  --events N     history events fed after one profile per account (default 100,000)
  Prints the AOF's bytes per event scored, by command and kind of key (the second part of the key).`);
  process.exit(0);
}
const ACCOUNTS = countOption('accounts', values.accounts, 2_000);
const EVENTS = countOption('events', values.events, 100_000);

/** Each command of an AOF: its name, its first key, and its size in bytes. */
export function* aofCommands(data: Buffer): Generator<{ name: string; key: string; bytes: number }> {
  let i = 0;
  const line = (): number => {
    const end = data.indexOf('\r\n', i);
    const n = Number(data.toString('latin1', i + 1, end));
    i = end + 2;
    return n;
  };
  while (i < data.length) {
    if (data[i] !== 0x2a) throw new Error(`not a RESP array at byte ${i}`);
    const start = i;
    const argc = line();
    const args: string[] = [];
    for (let k = 0; k < argc; k++) {
      const len = line();
      if (k < 2) args.push(data.toString('latin1', i, i + len));
      i += len + 2;
    }
    yield { name: (args[0] ?? '').toUpperCase(), key: args[1] ?? '', bytes: i - start };
  }
}

const demo = await scoreDemo({ accounts: ACCOUNTS, events: EVENTS, persistence: 'aof', redisArgs: ['--auto-aof-rewrite-percentage', '0'] });
try {
  // Redis writes a command to the file before it replies to it (the fsync may follow a second later), so the file is whole here.
  const aofDir = join(demo.dir, 'appendonlydir');
  const incr = readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof'));
  const groups = new Map<string, { n: number; bytes: number }>();
  let total = 0;
  for (const file of incr) {
    for (const c of aofCommands(readFileSync(join(aofDir, file)))) {
      // A key's kind is its part after the prefix: '{m}:a:x:123' → 'a'.
      const kind = c.key.startsWith(`${DEMO_PREFIX}:`) ? (c.key.slice(DEMO_PREFIX.length + 1).split(':')[0] ?? '') : '';
      const g = `${c.name} ${kind}`.trim();
      const v = groups.get(g) ?? { n: 0, bytes: 0 };
      v.n += 1;
      v.bytes += c.bytes;
      groups.set(g, v);
      total += c.bytes;
    }
  }
  console.log(`scored ${fmt(demo.events)} events (${fmt(ACCOUNTS)} accounts) in ${fmt(demo.seconds, 1)} s; AOF ${fmt(total / 1e6, 1)} MB: ${fmt(total / demo.events)} bytes per event`);
  console.log('| command and kind of key | bytes per event | share | commands per event | bytes per command |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [g, v] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20)) {
    console.log(`| ${g} | ${fmt(v.bytes / demo.events, 1)} | ${fmt((100 * v.bytes) / total, 1)}% | ${fmt(v.n / demo.events, 2)} | ${fmt(v.bytes / v.n)} |`);
  }
} finally {
  await demo.close();
}
