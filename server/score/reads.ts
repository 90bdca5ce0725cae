/**
 * The score's read side: what the API and the live channels serve. Entities
 * are read from the score record that WRITE keeps beside the leaderboards, so
 * both always agree.
 */
import { RESP_TYPES } from 'redis';
import type { Entity, Leaderboard, LeaderboardEntry } from '../../shared/api.js';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { PERSON_SCOPE, personBoard } from './boards.js';
import { COMPONENT_NAMES, COMPONENT_WEIGHTS, SCALES, decayTo, postValue, type ModelParams } from './model.js';
import type { ScoreStore } from './store.js';
import { readPostField } from './post-field.js';
import { entityOf, isAccountId, scored } from './record.js';
import { rawOf, scoreAccounts } from './score.js';
import { ENGAGER_SCALE, TOP_ENGAGERS } from './scripts.js';

export const HISTORY_RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type HistoryRange = keyof typeof HISTORY_RANGES;

export interface Explanation {
  id: string;
  score: number;
  asOf: string;
  formula: string;
  components: { name: string; weight: number; value: number; raw: number; scale: { unit: number; full: number } }[];
  accounts: { id: string; score: number; share: number }[];
  posts: { account: string; post: string; value: number }[];
  engagers: { account: string; engager: string; weight: number }[];
}

export class ClaimedAccountError extends Error {
  constructor(readonly account: string, readonly entity: string) {
    super(`account "${account}" belongs to entity "${entity}"`);
  }
}

/**
 * An account's `top` posts by value from its evidence hash, given as
 * HGETALL's flat list of fields and values as bytes (`p|<post>` = the post's
 * engagement and amplification sums at β·H and its topics, `post-field.ts`):
 * a post's value is the sum of their β-th powers, as the apply counts it.
 */
export function topPosts(flat: Buffer[], top: number): { value: string; score: number }[] {
  const value = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!;
    // 'p|'
    if (k[0] !== 0x70 || k[1] !== 0x7c) continue;
    const { e, a } = readPostField(flat[i + 1]!);
    const x = postValue(e) + postValue(a);
    if (x > 0) value.set(k.subarray(2).toString('utf8'), x);
  }
  return [...value]
    .map(([post, score]) => ({ value: post, score }))
    .sort((a, b) => b.score - a.score || a.value.localeCompare(b.value))
    .slice(0, top);
}

/** An account's `n` heaviest engagers, by handle, weights in ENGAGER_SCALE units, heaviest first (TOP_ENGAGERS). */
export async function topEngagers(redis: RedisClient, keys: Keys, id: string, n: number): Promise<{ value: string; score: number }[]> {
  const flat = (await TOP_ENGAGERS.run(redis, [keys.evidence(id), keys.topEngagers(id)], [String(n)])) as string[];
  const out: { value: string; score: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ value: flat[i]!, score: Number(flat[i + 1]) });
  return out;
}

export function createReads(redis: RedisClient, keys: Keys, store: ScoreStore, params: ModelParams) {
  // Evidence hashes hold binary values (post sums, HyperLogLogs): read as bytes, HGETALL as a flat list.
  const bytes = redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array });
  async function owner(id: string): Promise<string | null> {
    return isAccountId(id) ? redis.hGet(keys.owner, id) : null;
  }

  return {
    /** The entity, or null; throws ClaimedAccountError for an account that an entity claims. */
    async entity(id: string): Promise<Entity | null> {
      const [h, rank, claimedBy] = await Promise.all([redis.hGetAll(keys.score(id)), redis.zRevRank(keys.leaderboard('global'), id), owner(id)]);
      if (claimedBy) throw new ClaimedAccountError(id, claimedBy);
      if (!scored(id, h)) return null;
      return entityOf(id, h, rank);
    },

    async leaderboard(scope: string, limit: number, offset: number): Promise<Leaderboard> {
      const key = keys.leaderboard(scope);
      const [{ members, total }, clock] = await Promise.all([
        scope === PERSON_SCOPE
          ? personBoard(redis, keys, offset, limit)
          : Promise.all([limit > 0 ? redis.zRangeWithScores(key, offset, offset + limit - 1, { REV: true }) : [], redis.zCard(key)]).then(([members, total]) => ({ members, total })),
        store.clock(),
      ]);
      const rows = members.length ? await Promise.all(members.map((m) => redis.hmGet(keys.score(m.value), ['name', 'kind', 'd']))) : [];
      const entries: LeaderboardEntry[] = members.map((m, i) => {
        const [name, kind, d] = rows[i] ?? [];
        return { rank: offset + i + 1, id: m.value, name: name ?? m.value, kind: kind === 'brand' ? 'brand' : 'person', score: m.score, delta: Number(d ?? 0) };
      });
      return { scope, entries, total, updatedAt: new Date(clock).toISOString() };
    },

    async history(id: string, range: HistoryRange): Promise<{ id: string; range: HistoryRange; points: { t: string; score: number }[] } | null> {
      const fine = range === '1h' || range === '24h';
      const [clock, [score, layout, scopes, field]] = await Promise.all([store.clock(), redis.hmGet(keys.score(id), ['s', 'hv', 'scopes', 'hs'])]);
      if (!scored(id, { s: score ?? undefined, scopes: scopes ?? undefined })) return null;
      const since = clock - HISTORY_RANGES[range];
      let raw: string[];
      if (field != null) {
        // The record's field (HISTORY_FIELD_MAX): '<minute>:<score>,...;<hour>:<score>,...', oldest first.
        const [minutes = '', hours = ''] = field.split(';');
        const unit = fine ? 60_000 : 3_600_000;
        raw = (fine ? minutes : hours)
          .split(',')
          .filter((b) => b !== '')
          .map((b) => {
            const i = b.indexOf(':');
            return `${Number(b.slice(0, i)) * unit}${b.slice(i)}`;
          })
          .filter((b) => Number(b.slice(0, b.indexOf(':'))) >= since);
      } else if (!(Number(layout) >= 2)) {
        // Not written since before 0.6: the two sets of that version.
        const [minutes, hours] = keys.legacyHistory(id);
        raw = await redis.zRangeByScore(fine ? minutes : hours, since, '+inf');
      } else if (fine) raw = await redis.zRangeByScore(keys.history(id), since, '+inf');
      else raw = (await redis.zRangeByScore(keys.history(id), '-inf', -since)).reverse().map((m) => m.slice(1));
      return {
        id,
        range,
        points: raw.map((m) => {
          const [t, s] = m.split(':');
          return { t: new Date(Number(t)).toISOString(), score: Number(s) };
        }),
      };
    },

    async topics(): Promise<{ topic: string; entities: number }[]> {
      const scopes = await redis.sMembers(keys.scopes);
      if (scopes.length === 0 && (await redis.exists(keys.leaderboard('global')))) {
        // Leaderboards written before the set of scopes existed: found once, then remembered.
        for await (const batch of redis.scanIterator({ MATCH: `${keys.leaderboard('')}*`, COUNT: 1000 })) scopes.push(...batch.map((k) => k.slice(keys.leaderboard('').length)));
        if (scopes.length > 0) await redis.sAdd(keys.scopes, scopes);
      }
      const found = scopes.filter((s) => s.startsWith('topic:'));
      const counts = await Promise.all(found.map((s) => redis.zCard(keys.leaderboard(s))));
      return found
        .map((s, i) => ({ topic: s.slice('topic:'.length), entities: counts[i] ?? 0 }))
        .filter((t) => t.entities > 0)
        .sort((a, b) => b.entities - a.entities || a.topic.localeCompare(b.topic));
    },

    /** Why the score is what it is, recomputed from the state at the current clock. */
    async explain(id: string, top = 5): Promise<Explanation | null> {
      const claimedBy = await owner(id);
      if (claimedBy) throw new ClaimedAccountError(id, claimedBy);
      const [e] = await store.resolve([id]);
      if (!e) return null;
      const clock = await store.clock();
      const r = scoreAccounts(e.accounts, clock, params);
      const accounts = e.accounts
        .map((a) => ({ id: a.id, score: scoreAccounts([a], clock, params).score, weight: Object.values(rawOf(a, clock, params)).reduce((x, y) => x + y, 0) }))
        .sort((a, b) => b.score - a.score);
      const totalWeight = accounts.reduce((x, a) => x + a.weight, 0) || 1;
      const [posts, engagers] = await Promise.all([
        Promise.all(e.accounts.map(async (a) => topPosts((await bytes.hGetAll(keys.evidence(a.id))) as unknown as Buffer[], top))),
        Promise.all(e.accounts.map((a) => topEngagers(redis, keys, a.id, top))),
      ]);
      return {
        id,
        score: r.score,
        asOf: new Date(clock).toISOString(),
        formula: 'score = 1 + 0.99 × Σ weight × component; component = min(100, 100 × log10(1 + raw/unit) / full); see docs/scoring.md',
        components: COMPONENT_NAMES.map((c) => ({ name: c, weight: COMPONENT_WEIGHTS[c], value: r.components[c], raw: r.raw[c], scale: SCALES[c] })),
        accounts: accounts.map((a) => ({ id: a.id, score: a.score, share: Math.round((1000 * a.weight) / totalWeight) / 10 })),
        posts: e.accounts
          .flatMap((a, i) => (posts[i] ?? []).map((p) => ({ account: a.id, post: p.value, value: decayTo(p.score, clock, params) })))
          .sort((a, b) => b.value - a.value)
          .slice(0, top),
        engagers: e.accounts
          // Members are handles on the account's network (Keys.topEngagers).
          .flatMap((a, i) => (engagers[i] ?? []).map((p) => ({ account: a.id, engager: `${a.id.slice(0, a.id.indexOf(':'))}:${p.value}`, weight: decayTo(p.score / ENGAGER_SCALE, clock, params) })))
          .sort((a, b) => b.weight - a.weight)
          .slice(0, top),
      };
    },
  };
}

export type Reads = ReturnType<typeof createReads>;
