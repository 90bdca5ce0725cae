/**
 * The score's write side in Redis. A batch is applied in two scripts:
 *  1. APPLY adds the account deltas, advances the watermark (the last stream
 *     id applied) and the event-time clock, and marks accounts and their
 *     entities dirty, atomically: a redelivered batch is refused, so nothing
 *     counts twice.
 *  2. After the pure score functions run, WRITE stores every dirty entity's
 *     score, its leaderboard places and history together and clears its mark,
 *     so the entity endpoint and the leaderboards always agree. Entities left
 *     dirty by a crash between the two are scored at start.
 * Applies go through one queue and score writes through another (`serial`),
 * so the pipeline, the decay sweep and admin changes never interleave inside
 * a process, while an apply may run as a write computes scores: a write
 * first takes the dirty marks (TAKE), so marks an apply sets meanwhile stay
 * for the next write.
 */
import type { Keys } from '../infra/keys.js';
import { RESP_TYPES } from 'redis';
import type { RedisClient } from '../infra/redis.js';
import type { AccountDelta } from './aggregate.js';
import { packComponents, type ModelParams } from './model.js';
import { BRAND_SCOPE } from './boards.js';
import { APPLY } from './scripts.js';
import { deltaArgs } from './apply-args.js';
import { SWEEP, TAKE, WRITE } from './write-scripts.js';
import { packTopics, parseAccountFields, scoreAccounts, type AccountSnapshot } from './score.js';
import { entityOf, isAccountId } from './record.js';
import { chunkSize, inChunks, WRITE_CHUNK } from './write-chunks.js';
import type { Entity } from '../../shared/api.js';

/** A hash read as a flat list of fields and values, as an object (no prototype: a field is a key like any other). */
function fieldsOf(list: readonly string[]): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

/** A score that changed (or was first set). */
export interface ScoreChange {
  id: string;
  score: number;
  prev: number | null;
  /**
   * The entity as the write stored it (what `GET /api/entities/:id` then
   * reads), for an entity someone watches live: its update goes out without
   * reading it back.
   */
  entity?: Entity;
}

export class StaleWatermarkError extends Error {
  constructor(readonly current: string) {
    super(`the watermark moved to "${current}": another scorer applied batches`);
  }
}

/** An entity as the store resolves it: an unclaimed account, or a registered entity with its accounts. */
export interface ResolvedEntity {
  id: string;
  registered: boolean;
  name: string;
  kind: 'person' | 'brand';
  accounts: AccountSnapshot[];
  /** Set when an account id is claimed by an entity. */
  claimedBy?: string;
}

/**
 * Most entries of the global board one sweep looks at (SWEEP): a walk over
 * 100,000 entities takes 100 sweeps, ~3.5 minutes at the pipeline's sweep
 * every 2 s. A sweep holds Redis ~3 µs an entry (`bench/sweep.ts`): ~3 ms.
 */
export const SWEEP_LOOK = 1000;

/** Most watched entities one apply's live write scores; the rest wait for the next score write. */
export const LIVE_WRITE_MAX = 50;

/** Entities someone watches live, and where their changes go. */
export interface LiveWrite {
  watched(id: string): boolean;
  onWritten(changes: ScoreChange[]): void;
}

export interface ScoreStore {
  /**
   * Loads the scripts into Redis (a scorer's start, after a restart of Redis
   * too): a script sent again after NOSCRIPT lands a reply later, behind what
   * was sent meanwhile, and a score write must not land behind a later one.
   */
  prepare(): Promise<void>;
  watermark(): Promise<string>;
  clock(): Promise<number>;
  /**
   * Applies a batch's deltas atomically and leaves what they touched dirty,
   * to be scored by rescoreDirty; with `live`, the watched entities it
   * touched are scored and their write sent before it returns (up to
   * LIVE_WRITE_MAX), their changes to `live.onWritten`.
   */
  apply(deltas: Iterable<AccountDelta>, expectedWatermark: string, newWatermark: string, batchClock: number, live?: LiveWrite): Promise<void>;
  /**
   * Scores every dirty entity (left by a crash, an admin change or the sweep).
   * `onWritten` gets each chunk's changes as soon as its WRITE has stored
   * them, so a pass over many entities does not hold back the first ones.
   * Entities that `watched` accepts (someone has them on screen) go first,
   * in chunks of their own, so their updates wait for no other entity.
   */
  rescoreDirty(onWritten?: (changes: ScoreChange[]) => void, watched?: (id: string) => boolean): Promise<ScoreChange[]>;
  /** Scores every entity at the current clock (after a rebuild, or to compare two states at one time). */
  rescoreAll(): Promise<ScoreChange[]>;
  /**
   * Marks up to `limit` entities scored more than `staleMs` of event time ago
   * dirty, found by a walk over the global board that goes on where the last
   * sweep stopped (SWEEP, SWEEP_LOOK entries at most), then scores everything dirty.
   */
  sweep(staleMs: number, limit: number): Promise<ScoreChange[]>;
  /** Reads entities with their accounts' state. */
  resolve(ids: string[]): Promise<(ResolvedEntity | null)[]>;
}

export function createScoreStore(client: RedisClient, keys: Keys, params: ModelParams): ScoreStore {
  // The write path runs behind one queue and nobody waits on a single command of it: no per-command
  // timeout (node-redis builds an AbortSignal for each, which under load costs more than the Redis work).
  const redis = client.withCommandOptions({ timeout: 0 }) as unknown as RedisClient;
  const queue = () => {
    let tail: Promise<unknown> = Promise.resolve();
    return <T>(fn: () => Promise<T>): Promise<T> => {
      const run = tail.then(fn, fn);
      tail = run.catch(() => {});
      return run;
    };
  };
  /** Score writes (and what marks entities dirty for them: sweep, rescore-all). */
  const serial = queue();
  /** Applies, in stream order. */
  const applying = queue();

  // Hashes are read as HGETALL's flat list of fields and values rather than an object (`parseAccountFields`).
  const lists = redis.withTypeMapping({ [RESP_TYPES.MAP]: Array }) as unknown as RedisClient;

  async function resolve(ids: string[]): Promise<(ResolvedEntity | null)[]> {
    // Each id's hash and, for an entity, its accounts; then who claims the accounts among the ids, in one HMGET.
    const m = lists.multi();
    for (const id of ids) {
      if (isAccountId(id)) m.hGetAll(keys.account(id));
      else m.hGetAll(keys.entity(id)).sMembers(keys.entityAccounts(id));
    }
    const direct = ids.filter(isAccountId);
    if (direct.length > 0) m.hmGet(keys.owner, direct);
    const replies = (await m.execAsPipeline()) as unknown[];
    const claims = (direct.length > 0 ? replies.pop() : []) as (string | null)[];
    const owners = new Map(direct.map((id, k) => [id, claims[k] ?? null]));
    let r = 0;
    const read = ids.map((id) => ({ hash: (replies[r++] ?? []) as string[], accounts: isAccountId(id) ? [] : ((replies[r++] ?? []) as string[]) }));
    const list = [...new Set(read.flatMap((x) => x.accounts))];
    const states = list.length ? ((await Promise.all(list.map((a) => lists.hGetAll(keys.account(a))))) as unknown as string[][]) : [];
    const byId = new Map(list.map((a, i) => [a, states[i] ?? []]));
    return ids.map((id, i) => {
      const { hash, accounts } = read[i]!;
      if (hash.length === 0) return null;
      if (isAccountId(id)) {
        const owner = owners.get(id);
        const snap = parseAccountFields(id, hash);
        return { id, registered: false, name: snap.name ?? id, kind: 'person', accounts: [snap], ...(owner ? { claimedBy: owner } : {}) };
      }
      const e = fieldsOf(hash);
      return {
        id,
        registered: true,
        name: e.name ?? id,
        kind: e.kind === 'brand' ? 'brand' : 'person',
        accounts: [...accounts].sort().map((a) => parseAccountFields(a, byId.get(a) ?? [])),
      };
    });
  }

  /** A promise whose rejection is handled where it is awaited, and never reported as unhandled if it is not. */
  function quiet<T>(p: Promise<T>): Promise<T> {
    p.catch(() => {});
    return p;
  }

  /** What a score write read: entities with their accounts, the clock, and the read's place in the order of reads on the connection. */
  interface ReadChunk {
    seq: number;
    resolved: (ResolvedEntity | null)[];
    clock: number;
  }
  /** Reads are numbered as they are sent; on the one connection they run in that order. */
  let readsSent = 0;
  /**
   * Entities an apply's live write has written (`apply`'s `live`), with the
   * number of the read it wrote from: a score write whose read is older
   * leaves them out rather than store an older state over theirs.
   */
  const liveWritten = new Map<string, number>();

  function read(chunk: string[]): Promise<ReadChunk> {
    const seq = ++readsSent;
    return quiet(Promise.all([resolve(chunk), redis.hGet(keys.meta, 'clock')]).then(([resolved, clock]) => ({ seq, resolved, clock: Number(clock ?? 0) })));
  }

  /** A chunk's WRITE arguments and what each entity's score is, from what was read. */
  function build(chunk: string[], { resolved, clock }: ReadChunk, watched?: (id: string) => boolean) {
    const writes: string[] = [];
    const written: { id: string; score: number | null; record?: Record<string, string> }[] = [];
    chunk.forEach((id, k) => {
      const e = resolved[k];
      if (!e) {
        writes.push(JSON.stringify({ id, remove: true, scopes: {}, fields: {} }));
        written.push({ id, score: null });
        return;
      }
      const r = scoreAccounts(e.accounts, clock, params);
      const score = String(r.score);
      // The person board is global without the brands (boards.ts): only brands have a kind board of their own.
      const scopes: Record<string, string> = { global: score };
      if (e.kind === 'brand') scopes[BRAND_SCOPE] = score;
      for (const a of e.accounts) scopes[`network:${a.id.slice(0, a.id.indexOf(':'))}`] = score;
      for (const t of r.topics) scopes[`topic:${t.topic}`] = String(t.score);
      const updated = Math.max(0, ...e.accounts.map((a) => a.last || a.first));
      // '' for a field the record leaves out (WRITE deletes it): no qualified topics.
      const fields: Record<string, string> = { topics: packTopics(r.topics), u: String(updated) };
      // An account's record never changes kind (person) or accounts (itself), and shares its account hash's name: readers take those as given.
      if (e.registered) Object.assign(fields, { name: e.name, kind: e.kind, accounts: JSON.stringify(e.accounts.map((a) => a.id)) });
      fields.c = packComponents(r.components);
      const own = e.registered ? undefined : String(r.score);
      const remove = !e.registered && !!e.claimedBy;
      // A watched entity's record as stored (WRITE leaves out a field that is ''; an account's name is its hash's), and WRITE returns its rank.
      const rank = !remove && watched?.(id) === true;
      let record: Record<string, string> | undefined;
      if (rank) {
        record = { s: score, ...fields };
        if (record.topics === '') delete record.topics;
        if (!e.registered && e.name !== id) record.name = e.name;
      }
      // Scores travel as strings: a Lua number would be stored with 17 digits (41.899999999999999).
      writes.push(JSON.stringify({ id, s: score, own, account: !e.registered, entity: e.registered, remove, rank, scopes, fields }));
      written.push({ id, score: e.registered || !e.claimedBy ? r.score : null, record });
    });
    return { clock, writes, written };
  }

  /**
   * Sends a chunk's WRITE (clearing its entities' marks in `marks`); resolves
   * with the scores that changed. With `readAt`, the watermark it was read at,
   * it writes nothing if an apply has run since.
   */
  function send(marks: string, { clock, writes, written }: ReturnType<typeof build>, readAt = ''): Promise<ScoreChange[]> {
    return WRITE.run(redis, [marks, keys.meta], [keys.base, String(clock), readAt, ...writes]).then((res) => {
      if (res === 'MOVED') return [];
      const [prevs, ranks] = res as [string[], number[]];
      const changes: ScoreChange[] = [];
      written.forEach((w, k) => {
        const prev = prevs[k] ? Number(prevs[k]) : null;
        if (w.score === null || w.score === prev) return;
        const rank = ranks[k] ?? -1;
        // -1: not asked, or WRITE removed the record (the account was claimed meanwhile).
        changes.push(w.record && rank >= 0 ? { id: w.id, score: w.score, prev, entity: entityOf(w.id, w.record, rank) } : { id: w.id, score: w.score, prev });
      });
      return changes;
    });
  }

  /**
   * Scores `chunks` of entities at the current clock and writes them, chunk
   * by chunk; returns the changes, and gives each chunk's to `onWritten` once
   * its WRITE is done. The next chunk is read while this one is scored and its
   * WRITE runs, so Node and Redis work at the same time; the WRITEs go in
   * order on the one connection. An entity that a live write stored from a
   * later read is left out: its mark stays, for the next write.
   */
  async function scoreAndWrite(chunks: string[][], onWritten?: (changes: ScoreChange[]) => void, watched?: (id: string) => boolean): Promise<ScoreChange[]> {
    const changes: ScoreChange[] = [];
    const pending: Promise<void>[] = [];
    let next = chunks.length > 0 ? read(chunks[0]!) : null;
    for (let c = 0; c < chunks.length; c++) {
      const got = await next!;
      next = c + 1 < chunks.length ? read(chunks[c + 1]!) : null;
      let chunk = chunks[c]!;
      if (liveWritten.size > 0) {
        const keep = chunk.map((id) => (liveWritten.get(id) ?? 0) < got.seq);
        got.resolved = got.resolved.filter((_, k) => keep[k]);
        chunk = chunk.filter((_, k) => keep[k]);
        // Written from this read or a later one: a live write's state is no longer the newest.
        for (const id of chunk) liveWritten.delete(id);
        if (chunk.length === 0) continue;
      }
      pending.push(
        quiet(
          send(keys.dirtyTaken, build(chunk, got, watched)).then((chunkChanges) => {
            changes.push(...chunkChanges);
            if (onWritten && chunkChanges.length > 0) onWritten(chunkChanges);
          }),
        ),
      );
    }
    await Promise.all(pending);
    return changes;
  }

  /**
   * The live write of an apply: the watched entities that the batch touched
   * (its accounts, and the entities that claim them), read, scored and their
   * WRITE sent before the apply returns, so before the next batch's APPLY,
   * behind which it would otherwise queue. Their marks go with it. A failure
   * leaves them marked, for the next score write, and so does a WRITE that
   * finds the watermark moved (it ran after the next APPLY after all: say,
   * loaded again after NOSCRIPT, an answer later).
   */
  async function liveWrite(ids: string[], live: LiveWrite, watermark: string): Promise<void> {
    const got = await read(ids);
    for (const id of ids) liveWritten.set(id, got.seq);
    void send(keys.dirty, build(ids, got, () => true), watermark).then(
      (changes) => changes.length > 0 && live.onWritten(changes),
      () => {},
    );
  }

  async function applyDeltas(deltas: Iterable<AccountDelta>, expectedWatermark: string, newWatermark: string, batchClock: number, live?: LiveWrite): Promise<void> {
    const list = [...deltas];
    const args = [expectedWatermark, newWatermark, keys.base, String(batchClock)];
    args.push(...deltaArgs(list));
    let owners: string[];
    try {
      owners = (await APPLY.run(redis, [keys.meta, keys.dirty], args)) as string[];
    } catch (err) {
      const m = err instanceof Error ? /STALE (.*)$/.exec(err.message) : null;
      if (m) throw new StaleWatermarkError(m[1] ?? '');
      throw err;
    }
    if (!live) return;
    const ids = new Set<string>();
    for (const id of [...list.map((d) => d.id), ...owners]) if (ids.size < LIVE_WRITE_MAX && live.watched(id)) ids.add(id);
    // The batch is applied: a failed read leaves the live write to the next score write.
    if (ids.size > 0) await liveWrite([...ids], live, newWatermark).catch(() => {});
  }

  async function rescoreDirty(onWritten?: (changes: ScoreChange[]) => void, watched?: (id: string) => boolean): Promise<ScoreChange[]> {
    const ids = ((await TAKE.run(redis, [keys.dirty, keys.dirtyTaken], [])) as string[]).sort();
    const first: string[] = [];
    const rest: string[] = [];
    for (const id of ids) (watched?.(id) ? first : rest).push(id);
    // The watched go first in chunks of WRITE_CHUNK, so that their updates wait for no large WRITE.
    return ids.length ? scoreAndWrite([...inChunks(first, WRITE_CHUNK), ...inChunks(rest, chunkSize(rest.length))], onWritten, watched) : [];
  }

  return {
    resolve,
    async prepare() {
      await Promise.all([APPLY, TAKE, WRITE, SWEEP].map((script) => script.load(redis)));
    },
    async watermark() {
      return (await redis.hGet(keys.meta, 'wm')) ?? '';
    },
    async clock() {
      return Number((await redis.hGet(keys.meta, 'clock')) ?? 0);
    },
    apply(deltas, expectedWatermark, newWatermark, batchClock, live) {
      return applying(() => applyDeltas(deltas, expectedWatermark, newWatermark, batchClock, live));
    },
    rescoreDirty: (onWritten, watched) => serial(() => rescoreDirty(onWritten, watched)),
    rescoreAll() {
      return serial(async () => {
        // Every scored entity is on the global board.
        const [scored, registered] = await Promise.all([redis.zRange(keys.leaderboard('global'), 0, -1), redis.sMembers(keys.entities)]);
        const all = [...new Set([...scored, ...registered])];
        for (let i = 0; i < all.length; i += 10_000) await redis.sAdd(keys.dirty, all.slice(i, i + 10_000));
        return rescoreDirty();
      });
    },
    sweep(staleMs, limit) {
      return serial(async () => {
        const clock = Number((await redis.hGet(keys.meta, 'clock')) ?? 0);
        await SWEEP.run(redis, [keys.leaderboard('global'), keys.dirty, keys.meta], [keys.base, String(clock - staleMs), String(SWEEP_LOOK), String(limit)]);
        return rescoreDirty();
      });
    },
  };
}
