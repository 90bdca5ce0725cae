/**
 * Keys that versions before 0.6 wrote and nothing reads any more: the
 * account scores' sorted set (`as`; each account's score is now field `s` of
 * its hash) and every account's top posts (`po:<id>`; they are now found in
 * the account's evidence hash). Deleted once, after start, by SCAN and UNLINK
 * (freed in the background); `meta` remembers that it was done. Other data
 * of those versions (history and endorsement sets) is moved on first touch.
 *
 * What versions before 0.8 kept apart for each account, its post hash and its
 * score record, is moved before a scorer applies anything (`moveEarlierLayouts`).
 */
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import type { Script } from '../infra/script.js';
import { MOVE_POSTS, MOVE_RECORDS } from './scripts.js';
import { isAccountId } from './store.js';

const DONE = '0.6';

/** A glob matching `text` literally. */
function literal(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Deletes what is left; returns how many keys went (0 once done). */
export async function dropLegacyKeys(redis: RedisClient, keys: Keys): Promise<number> {
  if ((await redis.hGet(keys.meta, 'legacy')) === DONE) return 0;
  let dropped = await redis.unlink(keys.legacyAccountScores);
  for await (const batch of redis.scanIterator({ MATCH: `${literal(keys.base)}po:*`, COUNT: 1000 })) if (batch.length > 0) dropped += await redis.unlink(batch);
  await redis.hSet(keys.meta, 'legacy', DONE);
  return dropped;
}

/**
 * Moves what versions before 0.8 kept in keys of their own into the hashes
 * this version reads, before a scorer applies anything: each account's post
 * hash (`p:<id>`) into its evidence hash, and each account's score record
 * (`es:<id>`) into its account hash. A SCAN returns every key that exists
 * for the whole of it, and no version since writes these keys, so none is
 * left behind; `meta` remembers that it was done. Returns how many
 * accounts' posts and records moved.
 */
export async function moveEarlierLayouts(redis: RedisClient, keys: Keys): Promise<{ posts: number; records: number }> {
  return {
    posts: await moveAll(redis, keys, 'posts', keys.posts(''), MOVE_POSTS, () => true),
    records: await moveAll(redis, keys, 'records', keys.legacyScore(''), MOVE_RECORDS, isAccountId),
  };
}

/** Runs `script` over the ids of every key under `prefix` that `take` accepts, 200 a call, unless meta's `mark` says it was done. */
async function moveAll(redis: RedisClient, keys: Keys, mark: string, prefix: string, script: Script, take: (id: string) => boolean): Promise<number> {
  if ((await redis.hGet(keys.meta, mark)) === MOVED) return 0;
  let moved = 0;
  for await (const batch of redis.scanIterator({ MATCH: `${literal(prefix)}*`, COUNT: 1000 })) {
    const ids = batch.map((k) => k.slice(prefix.length)).filter(take);
    for (let i = 0; i < ids.length; i += 200) moved += Number(await script.run(redis, [keys.meta], [keys.base, ...ids.slice(i, i + 200)]));
  }
  await redis.hSet(keys.meta, mark, MOVED);
  return moved;
}

const MOVED = '0.8';
