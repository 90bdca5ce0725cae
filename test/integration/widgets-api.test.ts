/** Streaming ingest over WebSocket, badges, who may frame what, and live updates across processes. */
import WebSocket from 'ws';
import { io as connect } from 'socket.io-client';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestAck, SubscribeAck, UpdateMessage } from '../../shared/live.js';
import { postEvents, startApp, testPrefix, until, type TestApp } from '../helpers/app.js';

let n = 0;
const like = (target: string) => ({ id: `wi${n++}`, network: 'x', type: 'like', actor: `fan${n}`, target, ts: Date.now() - 1000 });

function ingestSocket(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; acks: IngestAck[] }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/ingest`, { headers });
  const acks: IngestAck[] = [];
  ws.on('message', (d) => acks.push(JSON.parse(String(d)) as IngestAck));
  return new Promise((ok, fail) => {
    ws.once('open', () => ok({ ws, acks }));
    ws.once('unexpected-response', (_req, res) => fail(new Error(`status ${res.statusCode}`)));
    ws.once('error', fail);
  });
}

describe('widgets and producers', () => {
  let t: TestApp;
  let webDir: string;
  beforeAll(async () => {
    // A stand-in web build: the routing under test is the server's.
    webDir = mkdtempSync(join(tmpdir(), 'resonance-webdir-'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(webDir, 'embed.html'), '<!doctype html><title>embed</title>');
    writeFileSync(join(webDir, 'embed.js'), 'customElements;');
    mkdirSync(join(webDir, 'assets'));
    t = await startApp({ ingestKeys: ['k1'], embedOrigins: ['http://127.0.0.1:5555'], webDir });
  });
  afterAll(() => t.close());

  it('/ws/ingest answers each frame in order once its events are durable', async () => {
    const { ws, acks } = await ingestSocket(t.url, { authorization: 'Bearer k1' });
    ws.send(JSON.stringify(like('streamed')));
    ws.send(JSON.stringify([like('streamed'), like('streamed'), { id: 'bad' }]));
    ws.send([like('streamed'), like('streamed')].map((e) => JSON.stringify(e)).join('\n') + '\n{oops\n');
    const dup = like('streamed');
    ws.send(JSON.stringify([dup, dup]));
    await until(() => acks.length === 4);
    expect(acks).toEqual([
      { type: 'ack', accepted: 1, duplicates: 0, rejected: [] },
      { type: 'ack', accepted: 2, duplicates: 0, rejected: [{ index: 2, code: 'missing_field', message: expect.any(String) }] },
      { type: 'ack', accepted: 2, duplicates: 0, rejected: [{ index: 2, code: 'invalid_json', message: expect.any(String) }] },
      { type: 'ack', accepted: 1, duplicates: 1, rejected: [] },
    ]);
    ws.send(JSON.stringify(Array.from({ length: 10_001 }, () => like('x'))));
    await until(() => acks.length === 5);
    expect(acks[4]).toMatchObject({ type: 'error', error: { code: 'too_many_events' } });
    ws.close();
    expect(t.app.ingest!.stats.accepted).toBeGreaterThanOrEqual(6);
  });

  it('/ws/ingest refuses a missing or wrong key before the upgrade, and takes ?key=', async () => {
    await expect(ingestSocket(t.url)).rejects.toThrow('status 401');
    await expect(ingestSocket(t.url, { authorization: 'Bearer nope' })).rejects.toThrow('status 401');
    const viaQuery = new WebSocket(`${t.url.replace('http', 'ws')}/ws/ingest?key=k1`);
    await new Promise((ok, fail) => {
      viaQuery.once('open', ok);
      viaQuery.once('error', fail);
    });
    viaQuery.close();
  });

  it('badges: shields.io endpoint JSON and SVG', async () => {
    await postEvents(t.url, Array.from({ length: 20 }, () => like('badged')), { authorization: 'Bearer k1' });
    const entity = await until(async () => {
      const r = await fetch(`${t.url}/api/entities/x:badged`);
      return r.status === 200 ? r.json() : undefined;
    });
    const json = await fetch(`${t.url}/api/badge/x:badged`);
    expect(json.headers.get('access-control-allow-origin')).toBe('*');
    expect(await json.json()).toEqual({ schemaVersion: 1, label: 'resonance', message: entity.score.toFixed(1), color: expect.stringMatching(/^(brightgreen|green|yellowgreen|yellow|lightgrey)$/), cacheSeconds: 60 });
    const svg = await fetch(`${t.url}/api/badge/x:badged.svg`);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    const text = await svg.text();
    expect(text).toMatch(/^<svg[^>]*>/);
    expect(text).toContain(`>${entity.score.toFixed(1)}</text>`);
    expect((await fetch(`${t.url}/api/badge/x:nobody.svg`)).status).toBe(404);
  });

  it('only the embed pages may be framed, and only by the allowed origins', async () => {
    const embed = await fetch(`${t.url}/embed/score/blog:example.com`);
    expect(embed.status).toBe(200);
    expect(await embed.text()).toContain('<title>embed</title>');
    expect(embed.headers.get('content-security-policy')).toBe("frame-ancestors 'self' http://127.0.0.1:5555");
    expect(embed.headers.get('x-frame-options')).toBeNull();
    for (const path of ['/', '/wall', '/e/x:a', '/api/leaderboard', '/docs']) {
      const r = await fetch(`${t.url}${path}`);
      expect(r.headers.get('content-security-policy'), path).toBe("frame-ancestors 'none'");
      expect(r.headers.get('x-frame-options'), path).toBe('DENY');
    }
    expect(await (await fetch(`${t.url}/e/blog:example.com`)).text()).toContain('<title>app</title>');
    const script = await fetch(`${t.url}/embed.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(script.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a push-only process delivers the updates that a scoring process computes', async () => {
    const prefix = testPrefix();
    const scorer = await startApp({ keyPrefix: prefix, roles: new Set(['ingest', 'score']) });
    const pusher = await startApp({ keyPrefix: prefix, roles: new Set(['push']) });
    try {
      expect((await fetch(`${pusher.url}/api/events`, { method: 'POST' })).status).toBe(404);
      const s = connect(`${pusher.url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
      const updates: UpdateMessage[] = [];
      s.on('update', (m) => updates.push(m));
      const ack = await new Promise<SubscribeAck>((ok) => s.emit('subscribe', 'entity:x:remote', ok));
      expect(ack).toMatchObject({ ok: true, snapshot: null });
      await postEvents(scorer.url, [like('remote')]);
      const u = await until(() => updates.find((x) => x.channel === 'entity:x:remote'));
      expect(u.data).toMatchObject({ id: 'x:remote', score: expect.any(Number) });
      s.disconnect();
    } finally {
      await pusher.close();
      await scorer.close();
    }
  });
});
