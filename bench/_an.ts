import { DEMO_PREFIX, scoreDemo } from './demo-app.js';
const demo = await scoreDemo({ accounts: 5000, events: 150000, persistence: 'none' });
const r = demo.app.redis;
const stats: Record<string, { n: number; name: number; val: number }> = {};
let accounts = 0;
for await (const batch of r.scanIterator({ MATCH: `${DEMO_PREFIX}:a:*`, COUNT: 1000 })) {
  for (const k of batch) {
    accounts++;
    const h = await r.hGetAll(k);
    for (const [f, v] of Object.entries(h)) {
      const kind = f.includes(':') ? f.slice(0, f.indexOf(':') + 1) : f;
      const s = (stats[kind] ??= { n: 0, name: 0, val: 0 });
      s.n++; s.name += f.length; s.val += v.length;
    }
  }
}
for (const [k, s] of Object.entries(stats).sort((a, b) => b[1].name + b[1].val - a[1].name - a[1].val)) console.log(k.padEnd(10), (s.n / accounts).toFixed(2), 'fields/acct', ((s.name + s.val) / accounts).toFixed(1), 'B/acct', (s.val / s.n).toFixed(1), 'val len');
await demo.close();
