/**
 * Summarises a V8 CPU profile (from BENCH_CPU_PROF=<dir> npm run bench):
 * self time by package or area and the heaviest functions.
 *
 *   npx tsx bench/cpuprofile.ts /tmp/prof/CPU.*.cpuprofile
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)' || fn === '(program)') return fn;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/dist/server/')) return `server/${url.split('/dist/server/')[1]!.split('/')[0]}`;
  if (url.startsWith('node:') || url === '') return 'node internals and native';
  return url;
}

const files = process.argv.slice(2);
if (files.length === 0 || files.includes('--help') || files.includes('-h')) {
  console.log(`npx tsx bench/cpuprofile.ts <file.cpuprofile>...

  Prints, for each V8 CPU profile, self time by package or area and the heaviest
  functions. Profiles come from BENCH_CPU_PROF=<dir> npm run bench, or node --cpu-prof.`);
  process.exit(files.length === 0 ? 2 : 0);
}
function read(file: string): Profile {
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    if (Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas)) return p;
    throw new Error('not a V8 CPU profile (no nodes, samples and timeDeltas)');
  } catch (e) {
    console.error(`${file}: ${(e as Error).message}`);
    process.exit(1);
  }
}

for (const file of files) {
  const p = read(file);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const f = `${n.callFrame.functionName || '(anonymous)'} ${a}:${n.callFrame.lineNumber + 1}`;
    fns.set(f, (fns.get(f) ?? 0) + us);
  }
  const busy = total - (areas.get('(idle)') ?? 0);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)}%`.padStart(6);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`);
  console.log('by area:');
  for (const [a, us] of [...areas].filter(([a]) => a !== '(idle)').sort((x, y) => y[1] - x[1]).slice(0, 14)) console.log(`  ${pct(us)}  ${a}`);
  console.log('heaviest functions (self time):');
  for (const [f, us] of [...fns].filter(([f]) => !f.startsWith('(idle)')).sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`  ${pct(us)}  ${f}`);
}
