/** Reading a test app's score state as comparable values. */
import type { Keys } from '../../server/infra/keys.js';
import type { RedisClient } from '../../server/infra/redis.js';
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
