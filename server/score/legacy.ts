/**
 * Keys that versions before 0.6 wrote and nothing reads any more: the
 * account scores' sorted set (`as`; each account's score is now field `s` of
 * its hash) and every account's top posts (`po:<id>`; they are now found in
 * the account's post hash). Deleted once, after start, by SCAN and UNLINK
 * (freed in the background); `meta` remembers that it was done. Other data
 * of those versions (history and endorsement sets) is moved on first touch.
 *
 * Post hashes of versions before 0.8 (`p:<id>`) are moved into the
 * accounts' evidence hashes before a scorer applies anything (`movePostHashes`).
 */
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { MOVE_POSTS } from './scripts.js';

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

const POSTS_MOVED = '0.8';

/**
 * Moves every post hash an earlier version left (`p:<id>`) into the
 * account's evidence hash, where APPLY now reads and adds to a post's sums;
 * `meta` remembers that it was done. A scorer runs this before its first
 * apply: a SCAN returns every key that exists for the whole of it, and no
 * version since writes these keys, so none is left behind. Returns how many
 * accounts' posts moved.
 */
export async function movePostHashes(redis: RedisClient, keys: Keys): Promise<number> {
  if ((await redis.hGet(keys.meta, 'posts')) === POSTS_MOVED) return 0;
  const prefix = keys.posts('');
  let moved = 0;
  for await (const batch of redis.scanIterator({ MATCH: `${literal(prefix)}*`, COUNT: 1000 })) {
    for (let i = 0; i < batch.length; i += 200) {
      const ids = batch.slice(i, i + 200).map((k) => k.slice(prefix.length));
      moved += Number(await MOVE_POSTS.run(redis, [keys.meta], [keys.base, ...ids]));
    }
  }
  await redis.hSet(keys.meta, 'posts', POSTS_MOVED);
  return moved;
}
