/**
 * Redis restarts under a running deployment: ingest says 503
 * (`store_unavailable`, Retry-After) while it is down and stores nothing;
 * once it is back, events are scored again and the live updates reach
 * clients again, through a push-only process whose Pub/Sub subscription
 * must come back by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { SubscribeAck, UpdateMessage } from '../../shared/live.js';
import { freePort, startRedisServer, type RedisServerHandle } from '../../server/infra/redis-server.js';
import { postEvents, startApp, testPrefix, until, type TestApp } from '../helpers/app.js';

const like = (k: number) => ({ id: `rr-${k}`, network: 'x', type: 'like', actor: `fan${k}`, target: 'star', post: 'p1', ts: Date.now() });

describe('a Redis restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resonance-restart-'));
  const apps: TestApp[] = [];
  let redis: RedisServerHandle | null = null;
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => {});
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingest answers 503 while Redis is down and stores nothing; afterwards scores and live updates flow again', async () => {
    const port = await freePort();
    redis = await startRedisServer({ dir, persistence: 'aof', port });
    const prefix = testPrefix();
    const scorer = await startApp({ redisUrl: redis.url, keyPrefix: prefix, roles: new Set(['ingest', 'score']) });
    const pusher = await startApp({ redisUrl: redis.url, keyPrefix: prefix, roles: new Set(['push']) });
    apps.push(pusher, scorer);
    const s = connect(`${pusher.url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
    const updates: UpdateMessage<{ score: number; updatedAt: string }>[] = [];
    s.on('update', (m) => updates.push(m));
    const ack = await new Promise<SubscribeAck>((ok) => s.emit('subscribe', 'entity:x:star', ok));
    expect(ack.ok).toBe(true);
    expect((await postEvents(scorer.url, [like(1), like(2)])).status).toBe(202);
    await until(() => updates.length > 0, 10_000, 'an update before the restart');

    await redis.stop();
    redis = null;
    await until(() => !scorer.app.redis.isReady, 10_000, 'the client to see Redis gone');
    const down = await fetch(`${scorer.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([like(3)]) });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect((await fetch(`${scorer.url}/readyz`)).status).toBe(503);
    // Metrics still answer, with what the process knows, and say Redis is away.
    const metrics = await fetch(`${scorer.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^resonance_redis_up 0$/m);
    expect(text).toMatch(/^resonance_events_accepted_total 2$/m);
    expect(text).not.toMatch(/^resonance_stream_length/m);

    redis = await startRedisServer({ dir, persistence: 'aof', port });
    const before = updates.length;
    // A producer sends again what was refused, until it is taken (bounded by the deadline).
    const taken = await until(async () => {
      const r = await postEvents(scorer.url, [like(3), like(4)]);
      return r.status === 202 ? r.body : undefined;
    }, 20_000, 'ingest to take events again');
    // Refused while Redis was down means not stored: the event counts now, once.
    expect(taken).toMatchObject({ accepted: 2, duplicates: 0 });
    const u = await until(() => updates.slice(before).find((m) => m.channel === 'entity:x:star'), 20_000, 'an update through the push-only process after the restart');
    expect(u.seq).toBeGreaterThan(updates[before - 1]!.seq);
    const entity = (await (await fetch(`${pusher.url}/api/entities/x:star`)).json()) as { score: number };
    await until(async () => ((await fetch(`${scorer.url}/readyz`)).status === 200 ? true : undefined), 10_000, 'ready again');
    expect(await (await fetch(`${scorer.url}/metrics`)).text()).toMatch(/^resonance_redis_up 1$/m);
    expect(entity.score).toBeGreaterThan(0);
    // The events before the restart were kept (AOF): four likes from four accounts in all.
    const explain = (await (await fetch(`${pusher.url}/api/entities/x:star/explain`)).json()) as Record<string, unknown>;
    expect(JSON.stringify(explain)).toContain('fan1');
    s.disconnect();
  });
});
