/**
 * Keys that versions before 0.6 wrote and nothing reads any more: the
 * account scores' sorted set (`as`; each account's score is now field `s` of
 * its hash) and every account's top posts (`po:<id>`; they are now found in
 * the account's evidence hash). Deleted once, after start, by SCAN and UNLINK
 * (freed in the background); `meta` remembers that it was done. So is the
 * person leaderboard that versions before 0.9 stored (`lb:kind:person`; it
 * is derived now, `boards.ts`). The history sets of versions before 0.6 are
 * moved on the entity's next score write, their endorsement sets with the
 * account layouts below.
 *
 * What versions before 0.8 kept apart for each account, its post hash and its
 * score record, is moved before a scorer applies anything (`moveEarlierLayouts`),
 * and so is the account hash's layout of versions before 0.10, and the top
 * engagers and the sorted set of scoring times of versions before 0.11.
 */
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { Script } from '../infra/script.js';
import { PERSON_SCOPE } from './boards.js';
import { ENGAGER_SCALE, HLL_FIELD_MAX } from './scripts.js';
import { POST_LUA } from './post-field.js';
import { TOPIC_LUA } from './topic-field.js';
import { HISTORY_FIELD_MAX, HISTORY_LUA, RECORD_KEY_LUA } from './write-scripts.js';
import { isAccountId } from './record.js';

/** What `meta`'s `legacy` says once each version's leftovers are gone. */
const DROPPED_0_6 = '0.6';
const DONE = '0.9';

/** A glob matching `text` literally. */
function literal(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Deletes what is left; returns how many keys went (0 once done). */
export async function dropLegacyKeys(redis: RedisClient, keys: Keys): Promise<number> {
  const done = await redis.hGet(keys.meta, 'legacy');
  if (done === DONE) return 0;
  let dropped = 0;
  if (done !== DROPPED_0_6) {
    dropped += await redis.unlink(keys.legacyAccountScores);
    for await (const batch of redis.scanIterator({ MATCH: `${literal(keys.base)}po:*`, COUNT: 1000 })) if (batch.length > 0) dropped += await redis.unlink(batch);
  }
  // Versions before 0.9 stored the person board; it is read from global and the brands now (boards.ts).
  dropped += await redis.unlink(keys.leaderboard(PERSON_SCOPE));
  await redis.hSet(keys.meta, 'legacy', DONE);
  return dropped;
}

/** What `meta`'s marks of the moves below say once done (`records`, `posts`; `accounts`, `scored`). */
const MOVED_0_8 = '0.8';
const MOVED_0_11 = '0.11';

/**
 * Moves what versions before 0.8 kept in keys of their own into the hashes
 * this version reads, before a scorer applies anything: each account's post
 * hash (`p:<id>`) into its evidence hash, and each account's score record
 * (`es:<id>`) into its account hash. A SCAN returns every key that exists
 * for the whole of it, and no version since writes these keys, so none is
 * left behind; `meta` remembers that it was done. Returns how many
 * accounts' posts and records moved.
 */
export async function moveEarlierLayouts(redis: RedisClient, keys: Keys): Promise<{ posts: number; records: number; accounts: number; scored: number }> {
  return {
    posts: await moveAll(redis, keys, 'posts', MOVED_0_8, keys.posts(''), MOVE_POSTS, () => true),
    records: await moveAll(redis, keys, 'records', MOVED_0_8, keys.legacyScore(''), MOVE_RECORDS, isAccountId),
    // After the records: an account's score record is then in its account hash, which this leaves as it is.
    accounts: await moveAll(redis, keys, 'accounts', MOVED_0_11, keys.account(''), PACK_ACCOUNTS, isAccountId),
    scored: await moveScoredAt(redis, keys),
  };
}

/**
 * MOVE_SCORED: KEYS = [meta]; ARGV = [key base, id, time, id, time...]. Each
 * entity's scoring time, which versions before 0.11 kept in a sorted set
 * (`sc`), into its record's field `at`, as WRITE now keeps it (where the
 * record is there). Returns how many records it set.
 */
const MOVE_SCORED = new Script(`
local B = ARGV[1]
${RECORD_KEY_LUA}
local moved = 0
for i = 2, #ARGV, 2 do
  local key = recordKey(B, ARGV[i])
  if redis.call('HEXISTS', key, 's') == 1 then redis.call('HSET', key, 'at', ARGV[i + 1]); moved = moved + 1 end
end
return moved
`);

/** The sorted set of scoring times into the records (MOVE_SCORED), 1,000 a call, then deleted; `meta` remembers it was done. */
async function moveScoredAt(redis: RedisClient, keys: Keys): Promise<number> {
  if ((await redis.hGet(keys.meta, 'scored')) === MOVED_0_11) return 0;
  let moved = 0;
  const n = await redis.zCard(keys.legacyScoredAt);
  // Nothing writes the set any more, so its ranks hold still while it is read.
  for (let i = 0; i < n; i += 1000) {
    const chunk = await redis.zRangeWithScores(keys.legacyScoredAt, i, i + 999);
    if (chunk.length > 0) moved += Number(await MOVE_SCORED.run(redis, [keys.meta], [keys.base, ...chunk.flatMap((m) => [m.value, String(m.score)])]));
  }
  await redis.unlink(keys.legacyScoredAt);
  await redis.hSet(keys.meta, 'scored', MOVED_0_11);
  return moved;
}

/** Runs `script` over the ids of every key under `prefix` that `take` accepts, 200 a call, unless meta's `mark` says `done`. */
async function moveAll(redis: RedisClient, keys: Keys, mark: string, done: string, prefix: string, script: Script, take: (id: string) => boolean): Promise<number> {
  if ((await redis.hGet(keys.meta, mark)) === done) return 0;
  let moved = 0;
  for await (const batch of redis.scanIterator({ MATCH: `${literal(prefix)}*`, COUNT: 1000 })) {
    const ids = batch.map((k) => k.slice(prefix.length)).filter(take);
    for (let i = 0; i < ids.length; i += 200) moved += Number(await script.run(redis, [keys.meta], [keys.base, ...ids.slice(i, i + 200)]));
  }
  await redis.hSet(keys.meta, mark, done);
  return moved;
}

/**
 * PACK_ACCOUNTS: KEYS = [meta]; ARGV = [key base, account id...]. Each
 * account hash as versions before 0.10 kept it becomes what APPLY keeps now:
 * a topic's five fields (`tp:`, `td:`, `te:`, `tk:`, `tv:<topic>`) and its
 * days (the evidence hash's field `<topic>`, or before 0.6 a set
 * `td:<id>:<topic>`) one field, `t:<topic>`, and the counts of events by
 * type (`n:<type>`, which nothing read) gone. Distinct engagers' HyperLogLogs kept as keys (`te:<id>:<topic>`,
 * `hll:<id>`) move into the evidence hash when HLL_FIELD_MAX bytes or less,
 * the top engagers (`en:<id>`, weights as computed, or 0.10's `eg:<id>`
 * in thousandths) into `g:<id>` in thousandths, whole (ENGAGER_SCALE), by
 * handle, and a history sorted set (`h:<id>`)
 * into the record's field `hs` when HISTORY_FIELD_MAX bytes or less; the
 * endorsement sets of versions before 0.6 (`k:<id>`, `tk:<id>:<topic>`)
 * become fields of the evidence hash, as APPLY moved them on first touch
 * before 0.10. Returns how many accounts changed.
 */
const PACK_ACCOUNTS = new Script(`
local B = ARGV[1]
${TOPIC_LUA}
-- A topic's five numbers as versions before 0.10 kept them, a field each; the sixth part, the days
-- themselves, was the evidence hash's field '<topic>' (or before 0.6 a set).
local TOPIC_PARTS = { 'tp:', 'td:', 'te:', 'tk:', 'tv:' }
local HLL_MAX, ENGAGER_SCALE, HIST_MAX = ${HLL_FIELD_MAX}, ${ENGAGER_SCALE}, ${HISTORY_FIELD_MAX}
${HISTORY_LUA}
local moved = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local key, dyk = B .. 'a:' .. id, B .. 'dy:' .. id
  local h = redis.call('HGETALL', key)
  local cur, packed, topics, order, drop, fields = {}, {}, {}, {}, {}, {}
  local function topic(t) if not topics[t] then topics[t] = true; order[#order + 1] = t end end
  for k = 1, #h, 2 do
    local f = h[k]
    fields[f] = h[k + 1]
    if string.sub(f, 1, 2) == 'n:' then drop[#drop + 1] = f
    elseif string.sub(f, 1, 2) == 't:' then topic(string.sub(f, 3)); packed[string.sub(f, 3)] = h[k + 1]
    elseif string.match(f, '^t[pdekv]:') then
      cur[f] = h[k + 1]
      topic(string.sub(f, 4))
      drop[#drop + 1] = f
    end
  end
  local changed = #drop > 0
  local flat = {}
  for _, t in ipairs(order) do
    local parts, legacy = {}, false
    if packed[t] then parts = parseTopic(packed[t]) end
    for j, part in ipairs(TOPIC_PARTS) do if cur[part .. t] then parts[j] = cur[part .. t]; legacy = true end end
    -- The days of tagged posts: a field of the evidence hash named by the topic (0.6 to 0.9), or a set (before 0.6).
    local days = nil
    if not parts[6] then
      days = redis.call('HGET', dyk, t)
      if days then redis.call('HDEL', dyk, t)
      else
        local old = B .. 'td:' .. id .. ':' .. t
        local members = redis.call('SMEMBERS', old)
        if #members > 0 then days = table.concat(members, ','); redis.call('DEL', old) end
      end
      if days then parts[6] = days end
    end
    if legacy or days then flat[#flat + 1] = 't:' .. t; flat[#flat + 1] = packTopic(parts, {}) end
  end
  if #flat > 0 then changed = true end
  for k = 1, #drop, 1000 do redis.call('HDEL', key, unpack(drop, k, math.min(k + 999, #drop))) end
  for k = 1, #flat, 1000 do redis.call('HSET', key, unpack(flat, k, math.min(k + 999, #flat))) end
  local function hll(field, from)
    local len = redis.call('STRLEN', from)
    if len > 0 and len <= HLL_MAX and redis.call('HEXISTS', dyk, field) == 0 then
      redis.call('HSET', dyk, field, redis.call('GET', from))
      redis.call('DEL', from)
      changed = true
    end
  end
  for _, t in ipairs(order) do hll('h|' .. t, B .. 'te:' .. id .. ':' .. t) end
  hll('d|', B .. 'hll:' .. id)
  -- Endorsements counted and distinct endorsers, kept in sets before 0.6: fields of the evidence hash.
  local function moveSet(old, prefix)
    local members = redis.call('SMEMBERS', old)
    if #members == 0 then return end
    for k = 1, #members, 500 do
      local flat = {}
      for j = k, math.min(k + 499, #members) do flat[#flat + 1] = prefix .. members[j]; flat[#flat + 1] = '1' end
      redis.call('HSET', dyk, unpack(flat))
    end
    redis.call('DEL', old)
    changed = true
  end
  moveSet(B .. 'k:' .. id, 'k|')
  for _, t in ipairs(order) do moveSet(B .. 'tk:' .. id .. ':' .. t, 'e|' .. t .. '|') end
  -- Top engagers by full id, weights as computed (before 0.10, 'en:') or in thousandths (0.10, 'eg:'):
  -- by handle (the account's network left out) in thousandths. ZADD sets, so a move interrupted
  -- before the DEL and run again gives the same set.
  local cut = #string.match(id, '^[^:]*:') + 1
  for _, old in ipairs({ { 'en:', ENGAGER_SCALE }, { 'eg:', 1 } }) do
    local from = B .. old[1] .. id
    local top = redis.call('ZRANGE', from, 0, -1, 'WITHSCORES')
    if #top > 0 then
      local flat = {}
      for k = 1, #top, 2 do flat[#flat + 1] = math.floor(tonumber(top[k + 1]) * old[2] + 0.5); flat[#flat + 1] = string.sub(top[k], cut) end
      for k = 1, #flat, 1000 do redis.call('ZADD', B .. 'g:' .. id, unpack(flat, k, math.min(k + 999, #flat))) end
      redis.call('DEL', from)
      changed = true
    end
  end
  -- A history of HIST_MAX bytes or less moves into the record's field (which a record written by
  -- versions before 0.6, with no layout mark, does not read: its history waits for its next write).
  local hk = B .. 'h:' .. id
  if tonumber(fields.hv or '0') >= 2 and not fields.hs and redis.call('ZCARD', hk) > 0 then
    local M, H = {}, {}
    local z = redis.call('ZRANGE', hk, 0, -1, 'WITHSCORES')
    for k = 1, #z, 2 do
      local t, x = tonumber(z[k + 1]), string.match(z[k], ':(.*)$')
      if t >= 0 then M[#M + 1] = { t / 60000, x } else H[#H + 1] = { -t / 3600000, x } end
    end
    table.sort(M, function(a, b) return a[1] < b[1] end)
    table.sort(H, function(a, b) return a[1] < b[1] end)
    local v = historyField(M, H)
    if #v <= HIST_MAX then
      redis.call('HSET', key, 'hs', v)
      redis.call('DEL', hk)
      changed = true
    end
  end
  if changed then moved = moved + 1 end
end
return moved
`);

/**
 * A script with KEYS = [meta]; ARGV = [key base, account id...] that moves
 * each account's hash `<from>:<id>` of versions before 0.8 into its hash
 * `<to>:<id>` and deletes it. `fields` is Lua that reads the old hash's
 * flat field/value list `h` and fills the flat list `flat` of fields to
 * set. Returns how many accounts it moved.
 */
function moveEach(from: string, to: string, fields: string, prelude = ''): Script {
  return new Script(`
local B = ARGV[1]
${prelude}
local moved = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local old = B .. '${from}:' .. id
  local h = redis.call('HGETALL', old)
  if #h > 0 then
    local flat = {}
${fields}
    for k = 1, #flat, 1000 do redis.call('HSET', B .. '${to}:' .. id, unpack(flat, k, math.min(k + 999, #flat))) end
    redis.call('DEL', old)
    moved = moved + 1
  end
end
return moved
`);
}

/**
 * MOVE_RECORDS: each account's score record (`es:<id>`) into its account
 * hash, as WRITE now keeps it: every field but `name` (the account hash
 * holds the account's own, which the record copied, or the record held the
 * id when there was none).
 */
const MOVE_RECORDS = moveEach(
  'es',
  'a',
  `
    for k = 1, #h, 2 do
      if h[k] ~= 'name' then flat[#flat + 1] = h[k]; flat[#flat + 1] = h[k + 1] end
    end`,
);

/**
 * MOVE_POSTS: each account's post hash (`p:<id>`: `e|<post>`, `a|<post>`
 * and `t|<post>`, a field each) into its evidence hash (`dy:<id>`) as one
 * field per post, `p|<post>`, as APPLY now keeps them (`post-field.ts`).
 */
const MOVE_POSTS = moveEach(
  'p',
  'dy',
  `
    local parts, order = {}, {}
    for k = 1, #h, 2 do
      local kind, p = string.sub(h[k], 1, 1), string.sub(h[k], 3)
      local x = parts[p]
      if not x then x = { e = '', a = '', t = '' }; parts[p] = x; order[#order + 1] = p end
      if kind == 'e' or kind == 'a' or kind == 't' then x[kind] = h[k + 1] end
    end
    for _, p in ipairs(order) do
      local x = parts[p]
      flat[#flat + 1] = 'p|' .. p; flat[#flat + 1] = writePost(tonumber(x.e) or 0, tonumber(x.a) or 0, x.t)
    end`,
  POST_LUA,
);
