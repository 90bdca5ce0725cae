/**
 * The log beyond Redis: scored events move to gzip segments on disk and out
 * of the stream; a rebuild from archive and stream gives the same scores; a
 * stop before a commit loses nothing; a missing archive stops the trimming
 * and the rebuild rather than an event.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeKeys, type Keys } from '../../server/infra/keys.js';
import { connectRedis, type RedisClient } from '../../server/infra/redis.js';
import { Simulator } from '../../server/ingest/demo.js';
import { archiveDirFor, archiveState, listSegments, readArchive, startArchiver, type Archiver } from '../../server/score/archive.js';
import { modelParams } from '../../server/score/model.js';
import { ArchiveMissingError, rebuild } from '../../server/score/rebuild.js';
import { createScoreStore } from '../../server/score/store.js';
import { postEvents, startApp, until, type TestApp } from '../helpers/app.js';
import { drained, silent, snapshot } from '../helpers/state.js';

const DAY = 86_400_000;

/** Every entry of the archive, in order. */
async function archived(dir: string, redis: RedisClient, keys: Keys) {
  const out: { id: string; event: string }[] = [];
  for await (const chunk of readArchive(dir, await archiveState(redis, keys))) for (const r of chunk) out.push({ id: r.id, event: (JSON.parse(r.json) as { id: string }).id });
  return out;
}

/** Rounds until the archive has caught up with what is scored. */
async function catchUp(a: Archiver): Promise<number> {
  let total = 0;
  for (let n = await a.runOnce(); n > 0; n = await a.runOnce()) total += n;
  return total;
}

describe('the archive', () => {
  let redis: RedisClient;
  const apps: TestApp[] = [];
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'resonance-archive-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'), 'test');
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await redis.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the server archives what it has scored and trims it from the stream', async () => {
    const root = tmp();
    const t = await startApp({ archiveDir: root });
    apps.push(t);
    const keys = makeKeys(t.prefix);
    const end = Date.now() - 1000;
    const sim = new Simulator({ seed: 5, accounts: 60 });
    const events = [...sim.profiles(end - DAY), ...sim.history(2500, end - DAY, end)];
    for (let i = 0; i < events.length; i += 500) await postEvents(t.url, events.slice(i, i + 500));
    await drained(t);
    const dir = archiveDirFor(root, t.prefix);
    await until(async () => (await archiveState(redis, keys)).n === events.length, 20_000, 'every event archived');
    // XTRIM ~ removes whole stream nodes (100 entries by default): at most one node's worth stays.
    await until(async () => ((await redis.xLen(keys.stream)) < 100 ? true : undefined), 10_000, 'stream trimmed');
    const entries = await archived(dir, redis, keys);
    expect(entries.map((e) => e.event)).toEqual(events.map((e) => e.id));
    expect(listSegments(dir).length).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^resonance_archive_events_total ${events.length}$`, 'm'));
    expect(metrics).toMatch(/^resonance_archive_blocked 0$/m);
    expect(metrics).toMatch(/^resonance_archive_failures_total 0$/m);
    expect(Number(/^resonance_stream_length (\d+)$/m.exec(metrics)?.[1])).toBeLessThan(100);
  });

  it('a rebuild from the archive and the stream gives the scores of the live run; a stop before a commit loses nothing', async () => {
    const t = await startApp();
    apps.push(t);
    const keys = makeKeys(t.prefix);
    const params = modelParams(30);
    const dir = tmp();
    const sim = new Simulator({ seed: 8, accounts: 100 });
    for (const e of sim.entities()) await t.app.entities.put(e.id, e);
    const end = Date.now() - 1000;
    const events = [...sim.profiles(end - 4 * DAY), ...sim.history(5000, end - 4 * DAY, end)];
    const first = events.slice(0, 3500);
    for (let i = 0; i < first.length; i += 500) await postEvents(t.url, first.slice(i, i + 500));
    await drained(t);

    // Small chunks and segments, so that the archive has several of each; a round reads in slices (300, 300, 100).
    const opts = { redis, keys, dir, log: silent, manual: true, chunk: 700, slice: 300, segmentBytes: 20_000 };
    const a = startArchiver({ ...opts, instance: 'a' });
    expect(await catchUp(a)).toBe(first.length);
    const segments = listSegments(dir);
    expect(segments.length).toBeGreaterThan(1);
    // A second process waits for the lease.
    const b = startArchiver({ ...opts, instance: 'b' });
    expect(await b.runOnce()).toBe(0);
    await a.stop();

    // A process stopped after appending and before committing: the bytes it left are cut off, and
    // the next round appends from the committed end.
    const state = await archiveState(redis, keys);
    appendFileSync(join(dir, state.file), Buffer.from('half a gzip member'));
    const rest = events.slice(3500);
    for (let i = 0; i < rest.length; i += 500) await postEvents(t.url, rest.slice(i, i + 500));
    await drained(t);
    expect(await b.runOnce()).toBe(700);
    await b.stop();
    const after = await archiveState(redis, keys);
    expect(after.n).toBe(first.length + 700);
    expect(statSync(join(dir, after.file)).size).toBe(after.size);
    const stored = await archived(dir, redis, keys);
    expect(stored.map((e) => e.event)).toEqual(events.slice(0, first.length + 700).map((e) => e.id));
    expect(await redis.xLen(keys.stream)).toBeLessThan(events.length - stored.length + 100);

    await createScoreStore(redis, keys, params).rescoreAll();
    const live = await snapshot(redis, keys);
    expect(Object.keys(live.entities).length).toBeGreaterThan(80);
    await t.close();
    const r = await rebuild({ redis, redisUrl: inject('redisUrl'), keys, params, log: silent, force: true, batchMaxSize: 333, archiveDir: dir });
    expect(r.archived).toBe(first.length + 700);
    expect(r.entries).toBe(events.length);
    const rebuilt = await snapshot(redis, keys);
    expect(rebuilt.entities).toEqual(live.entities);
    expect(rebuilt.boards).toEqual(live.boards);
  });

  it('with the archive missing, nothing is trimmed and the rebuild refuses, changing nothing', async () => {
    const t = await startApp();
    apps.push(t);
    const keys = makeKeys(t.prefix);
    const params = modelParams(30);
    const dir = tmp();
    const end = Date.now() - 1000;
    const sim = new Simulator({ seed: 9, accounts: 40 });
    const events = [...sim.profiles(end - DAY), ...sim.history(1500, end - DAY, end)];
    await postEvents(t.url, events.slice(0, 1000));
    await drained(t);
    const a = startArchiver({ redis, keys, dir, log: silent, manual: true, instance: 'a' });
    expect(await catchUp(a)).toBe(1000);
    await a.stop();

    renameSync(dir, `${dir}-elsewhere`);
    dirs.push(`${dir}-elsewhere`);
    await postEvents(t.url, events.slice(1000));
    await drained(t);
    const lengthBefore = await redis.xLen(keys.stream);
    const b = startArchiver({ redis, keys, dir, log: silent, manual: true, instance: 'b' });
    expect(await b.runOnce()).toBe(0);
    expect(b.stats.blocked).toMatch(/is not in/);
    expect(await redis.xLen(keys.stream)).toBe(lengthBefore);
    await b.stop();

    await createScoreStore(redis, keys, params).rescoreAll();
    const live = await snapshot(redis, keys);
    await t.close();
    await expect(rebuild({ redis, redisUrl: inject('redisUrl'), keys, params, log: silent, force: true, archiveDir: dir })).rejects.toBeInstanceOf(ArchiveMissingError);
    await expect(rebuild({ redis, redisUrl: inject('redisUrl'), keys, params, log: silent, force: true })).rejects.toThrow(/1000 events of the log are archived/);
    expect(await snapshot(redis, keys)).toEqual(live);
    // Where the archive is, the rebuild runs.
    const r = await rebuild({ redis, redisUrl: inject('redisUrl'), keys, params, log: silent, force: true, archiveDir: `${dir}-elsewhere` });
    expect(r.entries).toBe(events.length);
    expect(await snapshot(redis, keys)).toEqual(live);
  });

  it('a round that cannot write is counted and tried again, and trims nothing', async () => {
    const t = await startApp();
    apps.push(t);
    const keys = makeKeys(t.prefix);
    const end = Date.now() - 1000;
    const sim = new Simulator({ seed: 10, accounts: 20 });
    await postEvents(t.url, [...sim.profiles(end - DAY), ...sim.history(300, end - DAY, end)]);
    await drained(t);
    const length = await redis.xLen(keys.stream);
    // The archive folder's place is taken by a file: every round fails.
    const notADir = join(tmp(), 'archive');
    writeFileSync(notADir, 'not a folder');
    const a = startArchiver({ redis, keys, dir: notADir, log: silent, everyMs: 20, instance: 'a' });
    await until(() => (a.stats.failures >= 3 ? true : undefined), 10_000, 'failed rounds');
    await a.stop();
    expect(a.stats.lastError).toMatch(/EEXIST|ENOTDIR/);
    expect(a.stats.archived).toBe(0);
    expect(await redis.xLen(keys.stream)).toBe(length);
    expect((await archiveState(redis, keys)).n).toBe(0);
  });
});
