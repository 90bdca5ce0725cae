/** Reading a test app's score state as comparable values. */
import type { Keys } from '../../server/infra/keys.js';
import type { RedisClient } from '../../server/infra/redis.js';
import { RESP_TYPES } from 'redis';
import { readPostField } from '../../server/score/post-field.js';
import { parseAccount } from '../../server/score/score.js';
import { until, type TestApp } from './app.js';

/** A logger that says nothing. */
export const silent = { info() {}, warn() {}, error() {}, debug() {}, fatal() {}, trace() {}, child() { return silent; }, level: 'silent', silent() {} } as never;

/** Resolves once every event the app accepted is scored. */
export async function drained(t: TestApp): Promise<void> {
  await until(() => (t.app.ingest!.stats.accepted === t.app.pipeline!.stats.eventsScored ? true : undefined), 30_000, 'pipeline drained');
}

/** Every entity's score record and every leaderboard, as comparable values. */
export async function snapshot(redis: RedisClient, keys: Keys) {
  const scopes: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${keys.leaderboard('')}*`, COUNT: 500 })) scopes.push(...batch);
  const boards: Record<string, { value: string; score: number }[]> = {};
  for (const k of scopes.sort()) boards[k.slice(keys.base.length)] = await redis.zRangeWithScores(k, 0, -1);
  const ids = (boards['lb:global'] ?? []).map((m) => m.value);
  const entities: Record<string, Record<string, string>> = {};
  for (const id of ids) {
    const { s, topics, accounts, name, kind, scopes: sc, c } = await redis.hGetAll(keys.score(id));
    entities[id] = { s: s!, topics: topics!, accounts: accounts!, name: name!, kind: kind!, scopes: sc!, c: c! };
  }
  return { boards, entities };
}

/** An account's state of one topic, as the scorer reads it (whatever the hash's layout). */
export async function topicOf(redis: RedisClient, keys: Keys, id: string, topic: string) {
  return parseAccount(id, await redis.hGetAll(keys.account(id))).topics[topic];
}

/** A hash's fields with their values as bytes (evidence hashes hold binary values), in hex to compare. */
export async function hashBytes(redis: RedisClient, key: string): Promise<Record<string, string>> {
  const flat = (await redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array }).hGetAll(key)) as unknown as Buffer[];
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!.toString('utf8')] = flat[i + 1]!.toString('hex');
  return out;
}

/** An account's posts as its evidence hash holds them ('p|<post>'), each read as the scorer and /explain read it. */
export async function postsOf(redis: RedisClient, keys: Keys, id: string): Promise<Record<string, { e: number; a: number; topics: string; bytes: number }>> {
  const out: Record<string, { e: number; a: number; topics: string; bytes: number }> = {};
  for (const [k, hex] of Object.entries(await hashBytes(redis, keys.evidence(id)))) {
    if (!k.startsWith('p|')) continue;
    const raw = Buffer.from(hex, 'hex');
    out[k.slice(2)] = { ...readPostField(raw), bytes: raw.length };
  }
  return out;
}

/**
 * A topic's days as its field's sixth part holds them, in either form
 * (scripts.ts: parseDays): `<day>,<day>...`, or `<first>.<bits>`, six days a
 * character of DAY_CHARS.
 */
export function decodeDays(v: string): number[] {
  const CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_';
  if (v === '') return [];
  if (!v.includes('.')) return v.split(',').map(Number);
  const [first, bits] = v.split('.') as [string, string];
  return [...bits].flatMap((c, i) => [0, 1, 2, 3, 4, 5].filter((b) => (CHARS.indexOf(c) >> b) & 1).map((b) => Number(first) + 6 * i + b));
}
