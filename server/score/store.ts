/**
 * The score's Redis side: the atomic apply of a batch's deltas, the write of
 * the scores that follow from them, and the reads the API and live channels
 * serve. Account state is a hash per account; a leaderboard is a sorted set.
 *
 * A batch is applied in two scripts:
 *  1. APPLY adds the deltas, advances the watermark (the last stream id
 *     applied) and marks the accounts dirty, all atomically: a batch is
 *     either wholly applied or not at all, and a redelivered batch (ids at
 *     or below the watermark) is skipped, so nothing counts twice.
 *  2. WRITE stores each account's new score in its hash and in the
 *     leaderboards together and clears its dirty mark, so the entity
 *     endpoint and the leaderboards always agree. Accounts left dirty by a
 *     crash between the two are scored again at start.
 */
import type { Entity, EntityKind, Leaderboard, LeaderboardEntry } from '../../shared/api.js';
import type { Keys } from '../infra/keys.js';
import { accountIdOfKey } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { Script } from '../infra/script.js';
import { scoreAccount, type AccountDelta, type AccountState, type ModelParams } from './model.js';

const DELTA_FIELDS = 9;

const APPLY = new Script(`
local wm = redis.call('HGET', KEYS[1], 'wm') or ''
if wm ~= ARGV[1] then return redis.error_reply('STALE ' .. wm) end
redis.call('HSET', KEYS[1], 'wm', ARGV[2])
local out = {}
for k = 3, #KEYS do
  local key = KEYS[k]
  local b = 2 + (k - 3) * ${DELTA_FIELDS}
  local eng, follows, last, first = ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  if eng ~= '0' then redis.call('HINCRBYFLOAT', key, 'eng', eng) end
  if follows ~= '0' then redis.call('HINCRBY', key, 'nf', follows) end
  if last > 0 and last > tonumber(redis.call('HGET', key, 'last') or '0') then redis.call('HSET', key, 'last', last) end
  local cur = redis.call('HGET', key, 'first')
  if not cur or first < tonumber(cur) then redis.call('HSET', key, 'first', first) end
  if ARGV[b + 5] ~= '' then
    local v, ts = tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
    local cts = tonumber(redis.call('HGET', key, 'fts') or '-1')
    if ts > cts or (ts == cts and v > tonumber(redis.call('HGET', key, 'f') or '0')) then
      redis.call('HSET', key, 'f', v, 'fts', ts)
    end
  end
  if ARGV[b + 7] ~= '' then
    local ts = tonumber(ARGV[b + 8])
    local cts = tonumber(redis.call('HGET', key, 'nts') or '-1')
    if ts > cts or (ts == cts and ARGV[b + 7] > (redis.call('HGET', key, 'name') or '')) then
      redis.call('HSET', key, 'name', ARGV[b + 7], 'nts', ts)
    end
  end
  local counts = ARGV[b + 9]
  if counts ~= '' then
    for t, n in string.gmatch(counts, '(%a+)=(%d+)') do redis.call('HINCRBY', key, 'n:' .. t, n) end
  end
  redis.call('SADD', KEYS[2], key)
  out[#out + 1] = redis.call('HMGET', key, 'eng', 'nf', 'last', 'first', 'f', 's')
end
return out
`);

const WRITE = new Script(`
for k = 3, #KEYS do
  local b = (k - 3) * 5
  local id, s, reach, eng, delta = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
  redis.call('HSET', KEYS[k], 's', s, 'c:reach', reach, 'c:engagement', eng, 'd', delta)
  redis.call('ZADD', KEYS[2], s, id)
  redis.call('SREM', KEYS[1], KEYS[k])
end
return #KEYS - 2
`);

/** A score that changed (or was first set) by an apply. */
export interface ScoreChange {
  id: string;
  score: number;
  prev: number | null;
}

export class StaleWatermarkError extends Error {
  constructor(readonly current: string) {
    super(`the watermark moved to "${current}": another scorer applied batches`);
  }
}

type Row = (string | null)[];

function stateOf(row: Row): AccountState {
  const n = (i: number) => Number(row[i] ?? 0) || 0;
  return { eng: n(0), follows: n(1), last: n(2), first: n(3), followers: n(4) };
}

function countsArg(d: AccountDelta): string {
  return Object.entries(d.counts)
    .map(([t, n]) => `${t}=${n}`)
    .join(',');
}

export interface ScoreStore {
  /** The last stream id applied ('' when none). */
  watermark(): Promise<string>;
  /** Applies a batch's deltas atomically, then writes the resulting scores. */
  apply(deltas: Iterable<AccountDelta>, expectedWatermark: string, newWatermark: string): Promise<ScoreChange[]>;
  /** Scores accounts left dirty by a crash between the two steps of an apply. */
  rescoreDirty(): Promise<ScoreChange[]>;
  entity(id: string): Promise<Entity | null>;
  leaderboard(scope: string, limit: number, offset: number): Promise<Leaderboard>;
}

export function createScoreStore(redis: RedisClient, keys: Keys, params: ModelParams): ScoreStore {
  const lb = keys.leaderboard('global');

  async function writeScores(accountKeys: string[], rows: Row[]): Promise<ScoreChange[]> {
    const changes: ScoreChange[] = [];
    const args: string[] = [];
    accountKeys.forEach((key, i) => {
      const row = rows[i] ?? [];
      const id = accountIdOfKey(keys, key);
      const { score, components } = scoreAccount(stateOf(row), params);
      const prev = row[5] == null ? null : Number(row[5]);
      const delta = prev === null ? 0 : Math.round((score - prev) * 10) / 10;
      args.push(id, String(score), String(components.reach), String(components.engagement), String(delta));
      changes.push({ id, score, prev });
    });
    if (accountKeys.length > 0) await WRITE.run(redis, [keys.dirty, lb, ...accountKeys], args);
    return changes;
  }

  return {
    async watermark() {
      return (await redis.hGet(keys.meta, 'wm')) ?? '';
    },

    async apply(deltas, expectedWatermark, newWatermark) {
      const accountKeys: string[] = [];
      const args: string[] = [expectedWatermark, newWatermark];
      for (const d of deltas) {
        accountKeys.push(keys.account(d.id));
        args.push(
          String(d.eng),
          String(d.follows),
          String(d.last),
          String(d.first),
          d.followers ? String(d.followers.value) : '',
          d.followers ? String(d.followers.ts) : '',
          d.name ? d.name.value : '',
          d.name ? String(d.name.ts) : '',
          countsArg(d),
        );
      }
      let rows: Row[];
      try {
        rows = (await APPLY.run(redis, [keys.meta, keys.dirty, ...accountKeys], args)) as Row[];
      } catch (err) {
        const m = err instanceof Error ? /^STALE (.*)$/.exec(err.message) : null;
        if (m) throw new StaleWatermarkError(m[1] ?? '');
        throw err;
      }
      return writeScores(accountKeys, rows);
    },

    async rescoreDirty() {
      const dirty = await redis.sMembers(keys.dirty);
      if (dirty.length === 0) return [];
      const rows = await Promise.all(dirty.map((k) => redis.hmGet(k, ['eng', 'nf', 'last', 'first', 'f', 's'])));
      return writeScores(dirty, rows as Row[]);
    },

    async entity(id) {
      const key = keys.account(id);
      const [h, rank] = await Promise.all([redis.hGetAll(key), redis.zRevRank(lb, id)]);
      if (!h || h.s === undefined) return null;
      const updated = Number(h.last) > 0 ? Number(h.last) : Number(h.first);
      return {
        id,
        name: h.name ?? id,
        kind: 'person' as EntityKind,
        accounts: [id],
        score: Number(h.s),
        rank: rank === null ? null : rank + 1,
        components: { reach: Number(h['c:reach'] ?? 0), engagement: Number(h['c:engagement'] ?? 0) },
        topics: [],
        updatedAt: new Date(updated).toISOString(),
      };
    },

    async leaderboard(scope, limit, offset) {
      const key = keys.leaderboard(scope);
      const [members, total] = await Promise.all([
        limit > 0 ? redis.zRangeWithScores(key, offset, offset + limit - 1, { REV: true }) : Promise.resolve([]),
        redis.zCard(key),
      ]);
      const rows = await Promise.all(members.map((m) => redis.hmGet(keys.account(m.value), ['name', 'd', 'last', 'first'])));
      let newest = 0;
      const entries: LeaderboardEntry[] = members.map((m, i) => {
        const [name, d, last, first] = rows[i] ?? [];
        newest = Math.max(newest, Number(last) || Number(first) || 0);
        return { rank: offset + i + 1, id: m.value, name: name ?? m.value, kind: 'person', score: m.score, delta: Number(d ?? 0) };
      });
      return { scope, entries, total, updatedAt: new Date(newest).toISOString() };
    },
  };
}
