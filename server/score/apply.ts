/**
 * Applying a batch's account deltas to the score state in Redis, with the
 * arithmetic in Node and no JSON decoded in Redis:
 *  1. read what the batch needs and the scorer does not hold in memory
 *     (account hashes, per-post sums, which endorsements were counted): one
 *     pipelined round trip, none when everything is cached;
 *  2. compute every changed field here, then send one APPLY_OPS script call
 *     that checks and advances the watermark and writes the fields, the top
 *     posts and engagers, the distinct-count structures and the dirty marks,
 *     all or nothing.
 * The scorer is the only writer of these fields (the watermark check refuses a
 * second one), so what it wrote last is what Redis holds: an account it has
 * seen stays in `AccountCache` and needs no read. Any failure empties the
 * cache; the next batch reads again. `fold.ts` is the same arithmetic on
 * exact sets, the reference the tests hold this against.
 */
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import type { AccountDelta } from './aggregate.js';
import { POST_CONCAVITY } from './model.js';
import { APPLY_OPS } from './scripts.js';

/** A post's forward-decayed engagement and amplification sums and its topics (comma-joined), as in `p:<id>`. */
interface PostState {
  e: number;
  a: number;
  t: string | null;
}

/** The fields of an account hash (`a:<id>`) that applying deltas computes. */
export class AccountState {
  /** Null until the account exists. */
  first: number | null = null;
  last = 0;
  f = 0;
  fts = -1;
  name = '';
  nts = -1;
  nf = 0;
  E = 0;
  A = 0;
  O = 0;
  K = 0;
  N = 0;
  /** `n:<type>`, `tp:<topic>` and `tv:<topic>` sums. */
  readonly sums = new Map<string, number>();
  /** Posts read or written lately (a bounded window of `p:<id>`; others are read when needed). */
  readonly posts = new Map<string, PostState>();

  static parse(h: Record<string, string>): AccountState {
    const s = new AccountState();
    const n = (k: string) => Number(h[k] ?? 0) || 0;
    if (h.first !== undefined) s.first = n('first');
    s.last = n('last');
    s.f = n('f');
    if (h.fts !== undefined) s.fts = n('fts');
    s.name = h.name ?? '';
    if (h.nts !== undefined) s.nts = n('nts');
    s.nf = n('nf');
    s.E = n('E');
    s.A = n('A');
    s.O = n('O');
    s.K = n('K');
    s.N = n('N');
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith('n:') || k.startsWith('tp:') || k.startsWith('tv:')) s.sums.set(k, Number(v) || 0);
    }
    return s;
  }

  add(field: string, x: number): number {
    const v = (this.sums.get(field) ?? 0) + x;
    this.sums.set(field, v);
    return v;
  }

  /** Moves a post to the newest end of the window. */
  touchPost(id: string, p: PostState): void {
    this.posts.delete(id);
    this.posts.set(id, p);
  }

  /** Drops the oldest posts past the window (after a delta is applied, never during). */
  trimPosts(): void {
    while (this.posts.size > POSTS_PER_ACCOUNT) this.posts.delete(this.posts.keys().next().value!);
  }
}

/** Posts per cached account kept in memory. */
const POSTS_PER_ACCOUNT = 64;

/** The accounts the scorer holds in memory, least recently used dropped first. */
export class AccountCache {
  private readonly map = new Map<string, AccountState>();
  constructor(readonly max: number) {}

  get(id: string): AccountState | undefined {
    const s = this.map.get(id);
    if (s) {
      this.map.delete(id);
      this.map.set(id, s);
    }
    return s;
  }

  set(id: string, s: AccountState): void {
    if (this.max <= 0) return;
    this.map.delete(id);
    this.map.set(id, s);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

/** Top posts and top engagers stay below Redis's listpack limit for sorted sets (128): past it a set takes several times the memory. */
const TRIM_AT = 120;
const TRIM_TO = 60;
/** Most values per command sent through the script (Lua's `unpack` has a stack limit near 8,000). */
const CHUNK = 1000;

/** A non-finite amount (JSON-less arithmetic could meet one) counts as nothing rather than poisoning a sum. */
const fin = (x: number) => (Number.isFinite(x) ? x : 0);
const pow = (x: number) => (x <= 0 ? 0 : x ** POST_CONCAVITY);

/**
 * Encodes the writes of one batch for APPLY_OPS. Each op is a code, its
 * operands and a count of the values that follow:
 *   C n cmd args...              any command
 *   P set hash field n members   PFADD; if a register moved, hash.field = PFCOUNT
 *   S set hash field n members   SADD; if a member was new, hash.field = SCARD
 *   Z key n score member ...     ZADD; if a member was new, trim to TRIM_TO past TRIM_AT
 *   I key n incr member ...      ZINCRBY each; then trim likewise
 */
class Ops {
  readonly args: string[] = [];

  call(cmd: string, key: string, rest: string[]): void {
    this.args.push('C', String(rest.length + 2), cmd, key);
    for (const x of rest) this.args.push(x);
  }

  hset(key: string, fields: string[]): void {
    for (let i = 0; i < fields.length; i += CHUNK) this.call('HSET', key, fields.slice(i, i + CHUNK));
  }

  counted(op: 'P' | 'S', set: string, hash: string, field: string, members: readonly string[]): void {
    for (let i = 0; i < members.length; i += CHUNK) {
      const part = members.slice(i, i + CHUNK);
      this.args.push(op, set, hash, field, String(part.length));
      for (const m of part) this.args.push(m);
    }
  }

  zset(op: 'Z' | 'I', key: string, pairs: string[]): void {
    for (let i = 0; i < pairs.length; i += CHUNK) {
      const part = pairs.slice(i, i + CHUNK);
      this.args.push(op, key, String(part.length));
      for (const m of part) this.args.push(m);
    }
  }
}

export class StaleWatermarkError extends Error {
  constructor(readonly current: string) {
    super(`the watermark moved to "${current}": another scorer applied batches`);
  }
}

/** Applies `deltas` (at most one per account) atomically; see the file's comment. */
export async function applyBatch(
  redis: RedisClient,
  keys: Keys,
  cache: AccountCache,
  deltas: readonly AccountDelta[],
  expectedWatermark: string,
  newWatermark: string,
  batchClock: number,
): Promise<void> {
  try {
    await applyOnce(redis, keys, cache, deltas, expectedWatermark, newWatermark, batchClock);
  } catch (err) {
    // Whether any of it reached Redis is unknown: what the cache holds may no longer be what Redis holds.
    cache.clear();
    const m = err instanceof Error ? /STALE (.*)$/.exec(err.message) : null;
    if (m) throw new StaleWatermarkError(m[1] ?? '');
    throw err;
  }
}

async function applyOnce(
  redis: RedisClient,
  keys: Keys,
  cache: AccountCache,
  deltas: readonly AccountDelta[],
  expectedWatermark: string,
  newWatermark: string,
  batchClock: number,
): Promise<void> {
  // 1. Read what is not in memory.
  const states = new Map<string, AccountState>();
  /** Per account, the endorsement keys already counted. */
  const endorsed = new Map<string, Set<string>>();
  const read = redis.multi();
  const reads: ((r: unknown) => void)[] = [];
  for (const d of deltas) {
    const s = cache.get(d.id);
    if (!s) {
      read.hGetAll(keys.account(d.id));
      reads.push((h) => states.set(d.id, AccountState.parse(h as Record<string, string>)));
    } else states.set(d.id, s);
    const postIds = Object.keys(d.posts);
    for (const p of Object.keys(d.postTopics)) if (!(p in d.posts)) postIds.push(p);
    const missing = s ? postIds.filter((p) => !s.posts.has(p)) : postIds;
    if (missing.length > 0) {
      read.hmGet(keys.posts(d.id), missing.flatMap((p) => [`e|${p}`, `a|${p}`, `t|${p}`]));
      reads.push((r) => {
        const v = r as (string | null)[];
        const st = states.get(d.id)!;
        missing.forEach((p, i) => st.posts.set(p, { e: Number(v[3 * i] ?? 0) || 0, a: Number(v[3 * i + 1] ?? 0) || 0, t: v[3 * i + 2] ?? null }));
      });
    }
    if (d.endorsements.length > 0) {
      read.smIsMember(`${keys.base}k:${d.id}`, d.endorsements.map((en) => en.key));
      const keysRead = d.endorsements.map((en) => en.key);
      reads.push((r) => {
        const counted = endorsed.get(d.id) ?? new Set<string>();
        (r as (number | boolean)[]).forEach((x, i) => x && counted.add(keysRead[i]!));
        endorsed.set(d.id, counted);
      });
    }
  }
  if (reads.length > 0) {
    const results = (await read.execAsPipeline()) as unknown[];
    results.forEach((r, i) => reads[i]!(r));
  }

  // 2. Compute the new fields, then write them with the watermark.
  const ops = new Ops();
  const dirty: string[] = [];
  for (const d of deltas) {
    const s = states.get(d.id)!;
    const key = keys.account(d.id);
    const f: string[] = [];
    if (s.first === null || d.first < s.first) {
      s.first = d.first;
      f.push('first', String(d.first));
    }
    if (isTouch(d)) {
      // An account that only acted on others changes nothing else, and is dirty only when first seen earlier.
      if (f.length > 0) {
        ops.hset(key, f);
        dirty.push(d.id);
      }
      s.trimPosts();
      cache.set(d.id, s);
      continue;
    }
    if (d.last > 0 && d.last > s.last) {
      s.last = d.last;
      f.push('last', String(d.last));
    }
    if (d.followers && (d.followers.ts > s.fts || (d.followers.ts === s.fts && d.followers.value > s.f))) {
      s.f = d.followers.value;
      s.fts = d.followers.ts;
      f.push('f', String(s.f), 'fts', String(s.fts));
    }
    if (d.name && (d.name.ts > s.nts || (d.name.ts === s.nts && d.name.value > s.name))) {
      s.name = d.name.value;
      s.nts = d.name.ts;
      f.push('name', s.name, 'nts', String(s.nts));
    }
    if (d.follows !== 0) f.push('nf', String((s.nf += d.follows)));
    for (const [t, n] of Object.entries(d.counts)) f.push(`n:${t}`, String(s.add(`n:${t}`, n ?? 0)));

    const pk = keys.posts(d.id);
    const pf: string[] = [];
    for (const [p, topics] of Object.entries(d.postTopics)) {
      const t = topics.join(',');
      const post = s.posts.get(p) ?? { e: 0, a: 0, t: null };
      post.t = t;
      s.touchPost(p, post);
      pf.push(`t|${p}`, t);
    }
    for (const [topic, a] of Object.entries(d.authored)) {
      f.push(`tp:${topic}`, String(s.add(`tp:${topic}`, a.posts)));
      ops.counted('S', `${keys.base}td:${d.id}:${topic}`, key, `td:${topic}`, a.days.map(String));
    }
    let dE = 0;
    let dA = 0;
    const top: string[] = [];
    const topicEngagers = new Map<string, Set<string>>();
    for (const [p, v] of Object.entries(d.posts)) {
      const post = s.posts.get(p)!;
      const oe = post.e;
      const oa = post.a;
      const ve = fin(v.e);
      const va = fin(v.a);
      const w = fin(v.w);
      if (ve > 0) {
        post.e = oe + ve;
        dE += pow(post.e) - pow(oe);
        pf.push(`e|${p}`, String(post.e));
      }
      if (va > 0) {
        post.a = oa + va;
        dA += pow(post.a) - pow(oa);
        pf.push(`a|${p}`, String(post.a));
      }
      s.touchPost(p, post);
      top.push(String(pow(post.e) + pow(post.a)), p);
      if (post.t && w > 0) {
        for (const topic of post.t.split(',')) {
          f.push(`tv:${topic}`, String(s.add(`tv:${topic}`, w)));
          let set = topicEngagers.get(topic);
          if (!set) topicEngagers.set(topic, (set = new Set()));
          for (const who of v.engagers) set.add(who);
        }
      }
    }
    if (pf.length > 0) ops.hset(pk, pf);
    if (top.length > 0) ops.zset('Z', `${keys.base}po:${d.id}`, top);
    for (const [topic, who] of topicEngagers) ops.counted('P', `${keys.base}te:${d.id}:${topic}`, key, `te:${topic}`, [...who]);
    if (dE !== 0) f.push('E', String((s.E += dE)));
    if (dA !== 0) f.push('A', String((s.A += dA)));
    const outcomes = fin(d.outcomes);
    if (outcomes > 0) f.push('O', String((s.O += outcomes)));
    if (d.endorsements.length > 0) {
      const counted = endorsed.get(d.id) ?? new Set<string>();
      const added: string[] = [];
      const endorsers = new Map<string, string[]>();
      for (const en of d.endorsements) {
        if (counted.has(en.key)) continue;
        counted.add(en.key);
        added.push(en.key);
        const w = fin(en.w);
        s.K += w;
        s.add(`tv:${en.topic}`, w);
        const list = endorsers.get(en.topic) ?? [];
        list.push(en.endorser);
        endorsers.set(en.topic, list);
      }
      if (added.length > 0) {
        ops.call('SADD', `${keys.base}k:${d.id}`, added);
        f.push('K', String(s.K));
        for (const [topic, who] of endorsers) {
          f.push(`tv:${topic}`, String(s.sums.get(`tv:${topic}`)));
          ops.counted('S', `${keys.base}tk:${d.id}:${topic}`, key, `tk:${topic}`, who);
        }
      }
    }
    if (d.engagers.length > 0) ops.counted('P', `${keys.base}hll:${d.id}`, key, 'D', d.engagers);
    if (d.received > 0) f.push('N', String((s.N += d.received)));
    const en: string[] = [];
    for (const [who, w] of Object.entries(d.engagerWeights)) en.push(String(fin(w)), who);
    if (en.length > 0) ops.zset('I', `${keys.base}en:${d.id}`, en);
    if (f.length > 0) ops.hset(key, f);
    dirty.push(d.id);
    s.trimPosts();
    cache.set(d.id, s);
  }
  await APPLY_OPS.run(
    redis,
    [keys.meta, keys.dirty, keys.owner],
    [expectedWatermark, newWatermark, String(batchClock), String(ops.args.length), String(TRIM_AT), String(TRIM_TO), ...ops.args, ...dirty],
  );
}

/** A delta that only says the account was seen (it acted on others). */
export function isTouch(d: AccountDelta): boolean {
  return (
    d.last === 0 &&
    d.follows === 0 &&
    d.outcomes === 0 &&
    d.received === 0 &&
    !d.followers &&
    !d.name &&
    d.endorsements.length === 0 &&
    d.engagers.length === 0 &&
    Object.keys(d.posts).length === 0 &&
    Object.keys(d.authored).length === 0 &&
    Object.keys(d.postTopics).length === 0 &&
    Object.keys(d.counts).length === 0
  );
}
