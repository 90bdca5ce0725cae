/**
 * Ctrl-C on a server that runs its private Redis: a terminal sends SIGINT to
 * the whole foreground process group. The server must finish its work and
 * stop Redis itself, quickly and without errors, losing nothing it accepted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/infra/redis-server.js';
import { postEvents, until } from '../helpers/app.js';

const dataDir = mkdtempSync(join(tmpdir(), 'resonance-shutdown-'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The server as `npm start` runs it, leading a process group of its own as a terminal's foreground job does. */
async function start(): Promise<{ pid: number; url: string; exit: Promise<number | null>; output: () => string }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/server.ts'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 30_000, `server ready: ${out}`);
  return { pid: child.pid!, url, exit, output: () => out };
}

describe('Ctrl-C with a private Redis', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('SIGINT to the whole process group: the server finishes, stops its Redis, exits 0 without errors, and keeps what it accepted', async () => {
    const a = await start();
    const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8').trim());
    expect(alive(redisPid)).toBe(true);
    const events = Array.from({ length: 200 }, (_, k) => ({ id: `sd${k}`, network: 'x', type: 'like', actor: `fan${k}`, target: 'shut', ts: Date.now() - 60_000 }));
    expect((await postEvents(a.url, events)).body.accepted).toBe(200);
    const t0 = performance.now();
    process.kill(-a.pid, 'SIGINT');
    const code = await a.exit;
    const seconds = (performance.now() - t0) / 1000;
    expect(code, a.output()).toBe(0);
    expect(seconds, a.output()).toBeLessThan(5);
    // Warnings and errors besides the one about open writes on loopback: none.
    const problems = a.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l) && !l.includes('INGEST_KEYS'));
    expect(problems).toEqual([]);
    await until(() => (alive(redisPid) ? undefined : true), 5_000, 'the private redis-server stopped');

    // Started again on the same data: every accepted event is there and scored.
    const b = await start();
    try {
      const entity = await until(async () => {
        const r = await fetch(`${b.url}/api/entities/x:shut`);
        const e = r.status === 200 ? ((await r.json()) as { score: number; explain?: unknown }) : null;
        return e ?? undefined;
      }, 10_000, 'x:shut readable');
      expect(entity.score).toBeGreaterThan(1);
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      expect(metrics).toMatch(/^resonance_scoring_delay_seconds 0$/m);
    } finally {
      process.kill(-b.pid, 'SIGINT');
      expect(await b.exit).toBe(0);
    }
  });
});
