/** The real app on port 0 against the test Redis, with a key prefix of its own. */
import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import app, { SERVER_OPTIONS, type AppOptions } from '../../server/app.js';

export interface TestApp {
  app: FastifyInstance;
  url: string;
  prefix: string;
  close(): Promise<void>;
}

export function testPrefix(): string {
  return `{t${randomBytes(5).toString('hex')}}`;
}

export function appOptions(overrides: Partial<AppOptions> = {}): AppOptions {
  return {
    redisUrl: inject('redisUrl'),
    keyPrefix: testPrefix(),
    ingestKeys: [],
    adminKey: undefined,
    embedOrigins: [],
    halfLifeDays: 30,
    dedupeWindowSec: 600,
    roles: new Set(['ingest', 'score', 'push']),
    batchMaxSize: 500,
    batchMaxWaitMs: 5,
    writeEveryMs: 100,
    ...overrides,
  };
}

export async function startApp(overrides: Partial<AppOptions> & { port?: number } = {}): Promise<TestApp> {
  const { port: wanted = 0, ...rest } = overrides;
  const opts = appOptions(rest);
  const fastify = Fastify({ ...SERVER_OPTIONS, logger: false });
  await fastify.register(app, opts);
  await fastify.listen({ port: wanted, host: '127.0.0.1' });
  const addr = fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app: fastify, url: `http://127.0.0.1:${port}`, prefix: opts.keyPrefix, close: () => fastify.close() };
}

/** Resolves once `check` returns a value other than undefined/false; polls, with a deadline. */
export async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** POSTs events as JSON and returns status and body. */
export async function postEvents(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
