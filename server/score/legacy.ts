/**
 * Keys that versions before 0.6 wrote and nothing reads any more: the
 * account scores' sorted set (`as`; each account's score is now field `s` of
 * its hash) and every account's top posts (`po:<id>`; they are now found in
 * the account's post hash). Deleted once, after start, by SCAN and UNLINK
 * (freed in the background); `meta` remembers that it was done. Other data
 * of those versions (history and endorsement sets) is moved on first touch.
 */
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';

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
