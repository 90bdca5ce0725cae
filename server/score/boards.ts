/**
 * The `kind:person` leaderboard is not stored: it is `global` without the
 * brands. Every entity on `global` is a person or a brand, and a brand's
 * place on `kind:brand` is written in the same WRITE as its place on
 * `global`, with the same score, so both boards order the brands alike
 * (score, then id, as Redis orders ties). Storing the person board cost one
 * sorted-set entry (~100 bytes) per scored account and a ZADD member per
 * score that moved.
 *
 * A page of people is read in one script, so the two boards are read at one
 * instant. Brand j (0-based, in board order) sits at global index G(j), with
 * G(j) − j people above it, a count that never falls as j grows: a binary
 * search over the brands finds the global index of person number `offset`,
 * and the page is read from there, leaving the brands out. The cost is
 * O(log brands) lookups plus the page, at any offset.
 */
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { Script } from '../infra/script.js';

export const PERSON_SCOPE = 'kind:person';
/** The brands' board, stored: WRITE places each brand on it and on `global` together. */
export const BRAND_SCOPE = 'kind:brand';

/**
 * PERSONS: KEYS = [global board, brand board]; ARGV = [offset, limit].
 * Returns [people on the board, [id, score, id, score, ...] of the page].
 */
export const PERSONS = new Script(`
local g, b = KEYS[1], KEYS[2]
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local brands = redis.call('ZCARD', b)
local total = redis.call('ZCARD', g) - brands
local lo, hi = 0, brands
local pos, skip = nil, 0
-- The top page starts at the top: the walk below leaves out the brands it meets.
if offset == 0 then hi = 0 end
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  local rank = redis.call('ZREVRANK', g, redis.call('ZRANGE', b, mid, mid, 'REV')[1])
  -- A brand missing from global (not written by this version): count from the top instead.
  if not rank then pos = 0; skip = offset; break end
  if rank - mid > offset then hi = mid else lo = mid + 1 end
end
if not pos then pos = offset + lo end
local out = {}
local want = limit
while want > 0 do
  local chunk = redis.call('ZRANGE', g, pos, pos + want + 15, 'REV', 'WITHSCORES')
  if #chunk == 0 then break end
  -- The brands among them have scores within the chunk's: usually a few, found by one range read.
  local brand = {}
  for _, id in ipairs(redis.call('ZRANGE', b, chunk[#chunk], chunk[2], 'BYSCORE')) do brand[id] = true end
  for i = 1, #chunk, 2 do
    if want > 0 and not brand[chunk[i]] then
      if skip > 0 then skip = skip - 1 else out[#out + 1] = chunk[i]; out[#out + 1] = chunk[i + 1]; want = want - 1 end
    end
  end
  pos = pos + #chunk / 2
end
return { total, out }
`);

/** A page of the person board, best first, and how many people are on it. */
export async function personBoard(redis: RedisClient, keys: Keys, offset: number, limit: number): Promise<{ members: { value: string; score: number }[]; total: number }> {
  const [total, flat] = (await PERSONS.run(redis, [keys.leaderboard('global'), keys.leaderboard(BRAND_SCOPE)], [String(offset), String(limit)])) as [number, string[]];
  const members: { value: string; score: number }[] = [];
  for (let i = 0; i < flat.length; i += 2) members.push({ value: flat[i]!, score: Number(flat[i + 1]) });
  return { members, total: Math.max(0, total) };
}
