/**
 * The Lua scripts of the score state. Key names follow `infra/keys.ts`; all
 * keys share the prefix's hash tag, and every key a script touches is built
 * from the prefix, so the scripts run on Redis Cluster too.
 */
import { Script } from '../infra/script.js';

/**
 * APPLY_OPS: KEYS = [meta, dirty, owner]; ARGV = [expected watermark, new
 * watermark, batch clock, number of op values, trim-at, trim-to, op values...,
 * dirty account ids...]. Checks and advances the watermark and the clock,
 * runs the ops `apply.ts` encodes (values computed in Node: no JSON here),
 * and marks the accounts and the entities that own them dirty, all or
 * nothing.
 */
export const APPLY_OPS = new Script(`
local wm = redis.call('HGET', KEYS[1], 'wm') or ''
if wm ~= ARGV[1] then return redis.error_reply('STALE ' .. wm) end
redis.call('HSET', KEYS[1], 'wm', ARGV[2])
if tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[1], 'clock') or '0') then redis.call('HSET', KEYS[1], 'clock', ARGV[3]) end
local stop = 7 + tonumber(ARGV[4])
local TRIM_AT, TRIM_TO = tonumber(ARGV[5]), tonumber(ARGV[6])
local function trim(key)
  if redis.call('ZCARD', key) > TRIM_AT then redis.call('ZREMRANGEBYRANK', key, 0, -(TRIM_TO + 1)) end
end
local i = 7
while i < stop do
  local op = ARGV[i]
  if op == 'C' then
    local n = tonumber(ARGV[i + 1])
    redis.call(unpack(ARGV, i + 2, i + 1 + n))
    i = i + 2 + n
  elseif op == 'P' or op == 'S' then
    local set, hash, field, n = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
    -- PFADD answers 1 only when a register moved, SADD the number of new members: otherwise the count is the same.
    if op == 'P' then
      if redis.call('PFADD', set, unpack(ARGV, i + 5, i + 4 + n)) == 1 then redis.call('HSET', hash, field, redis.call('PFCOUNT', set)) end
    elseif redis.call('SADD', set, unpack(ARGV, i + 5, i + 4 + n)) > 0 then
      redis.call('HSET', hash, field, redis.call('SCARD', set))
    end
    i = i + 5 + n
  elseif op == 'Z' then
    local key, n = ARGV[i + 1], tonumber(ARGV[i + 2])
    -- The set only grows when ZADD added a member.
    if redis.call('ZADD', key, unpack(ARGV, i + 3, i + 2 + n)) > 0 then trim(key) end
    i = i + 3 + n
  elseif op == 'I' then
    local key, n = ARGV[i + 1], tonumber(ARGV[i + 2])
    for j = i + 3, i + 2 + n, 2 do redis.call('ZINCRBY', key, ARGV[j], ARGV[j + 1]) end
    trim(key)
    i = i + 3 + n
  else
    return redis.error_reply('BADOP ' .. tostring(op) .. ' at ' .. i)
  end
end
for j = stop, #ARGV, 1000 do
  local last = math.min(j + 999, #ARGV)
  redis.call('SADD', KEYS[2], unpack(ARGV, j, last))
  local owners, marks = redis.call('HMGET', KEYS[3], unpack(ARGV, j, last)), {}
  for _, o in ipairs(owners) do if o then marks[#marks + 1] = o end end
  if #marks > 0 then redis.call('SADD', KEYS[2], unpack(marks)) end
end
return #ARGV - stop + 1
`);

/**
 * TAKE: KEYS = [dirty, taken]. Moves every dirty mark into the set a write
 * works from (adding to what an interrupted write left there) and returns
 * that set: applies that run meanwhile mark a fresh `dirty`, so a write never
 * clears a mark it did not score.
 */
export const TAKE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SUNIONSTORE', KEYS[2], KEYS[2], KEYS[1])
  redis.call('DEL', KEYS[1])
end
return redis.call('SMEMBERS', KEYS[2])
`);

/**
 * WRITE: KEYS = [taken dirty marks]; ARGV = [key base, clock, its minute, its
 * hour, the minute and hour before which history is dropped, clock − 1 day,
 * then per entity: id, score ('' when removed), own account score (''),
 * kind ('a' account, 'e' registered entity, 'r' remove), its scopes sorted
 * and comma-joined, the number of scopes, the number of fields, scope/score
 * pairs, field/value pairs]. For each entity: its record, its place in every
 * leaderboard scope (leaving the scopes it no longer belongs to), its history
 * buckets, and its dirty mark cleared. An account's own score also goes to
 * the account-score set; a scope the entity enters is added to the set of
 * scopes. Returns each entity's previous score ('' for none).
 */
export const WRITE = new Script(`
local B, clock, m, h, mDrop, hDrop, dayAgo = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local hn, dayAgoN = tonumber(h), tonumber(dayAgo)
local prevs, done = {}, {}
local i = 8
while i <= #ARGV do
  local id, s, own, kind, names = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local ns, nf = tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6])
  local sc = i + 7
  local f0 = sc + 2 * ns
  i = f0 + 2 * nf
  done[#done + 1] = id
  local sk = B .. 'es:' .. id
  local cur = redis.call('HMGET', sk, 's', 'scopes', 's0', 's0t', 'hm')
  local prev = cur[1]
  prevs[#prevs + 1] = prev or ''
  -- An account's own score is written with its record: unchanged when the record's is.
  if own ~= '' and own ~= prev then
    redis.call('HSET', B .. 'a:' .. id, 's', own)
    redis.call('ZADD', B .. 'as', own, id)
  end
  local remove = kind == 'r'
  if kind == 'a' and redis.call('HEXISTS', B .. 'owner', id) == 1 then remove = true end
  if kind == 'e' and redis.call('SISMEMBER', B .. 'entities', id) == 0 then remove = true end
  local old = cur[2]
  -- The same scopes as last time: none to leave, none new.
  local same = not remove and old == names
  local had = {}
  if old and not same then
    local keep = {}
    if not remove then for j = sc, f0 - 1, 2 do keep[ARGV[j]] = true end end
    for scope in string.gmatch(old, '[^,]+') do
      had[scope] = true
      if not keep[scope] then redis.call('ZREM', B .. 'lb:' .. scope, id) end
    end
  end
  if remove then
    redis.call('DEL', sk, B .. 'h1:' .. id, B .. 'h2:' .. id)
    redis.call('ZREM', B .. 'sc', id)
  else
    local moved = prev ~= s
    for j = sc, f0 - 1, 2 do
      local scope = ARGV[j]
      local known = same or had[scope]
      -- A scope that carries the entity's score, which has not moved, already holds it; topic scopes have scores of their own.
      if moved or not known or string.sub(scope, 1, 6) == 'topic:' then redis.call('ZADD', B .. 'lb:' .. scope, ARGV[j + 1], id) end
      if not known then redis.call('SADD', B .. 'scopes', scope) end
    end
    local h1, h2 = B .. 'h1:' .. id, B .. 'h2:' .. id
    -- History only records moves: an unchanged score leaves the buckets as they are. 'hm' is the
    -- newest minute written: within it only the bucket is replaced; a new minute also drops the old
    -- ones, and finds its own bucket (and a new hour's) still empty.
    local hm = cur[5] or ''
    if moved then
      if hm == '' or hm == m then redis.call('ZREMRANGEBYSCORE', h1, m, m) end
      redis.call('ZADD', h1, m, m .. ':' .. s)
      if hm == '' or math.floor(tonumber(hm) / 3600000) * 3600000 == hn then redis.call('ZREMRANGEBYSCORE', h2, h, h) end
      redis.call('ZADD', h2, h, h .. ':' .. s)
      if hm ~= m then
        redis.call('ZREMRANGEBYSCORE', h1, '-inf', '(' .. mDrop)
        redis.call('ZREMRANGEBYSCORE', h2, '-inf', '(' .. hDrop)
        hm = m
      end
    end
    -- Movement over the last day of event time: now against the oldest point of the day before this
    -- minute, or against the first score ever if the entity is younger than that.
    local first = redis.call('ZRANGEBYSCORE', h1, dayAgo, '(' .. m, 'LIMIT', 0, 1)[1]
    local s0, s0t = cur[3], cur[4]
    if not prev then s0, s0t = s, clock end
    local score = tonumber(s)
    local base = score
    if first then base = tonumber(string.match(first, ':(.*)$'))
    elseif s0 and tonumber(s0t) >= dayAgoN then base = tonumber(s0) end
    local d = math.floor((score - base) * 10 + 0.5)
    redis.call('HSET', sk, 's', s, 'd', string.format('%.1f', d / 10), 'at', clock, 'scopes', names, 's0', s0, 's0t', s0t, 'hm', hm, unpack(ARGV, f0, f0 + 2 * nf - 1))
    redis.call('ZADD', B .. 'sc', clock, id)
  end
end
for j = 1, #done, 1000 do redis.call('SREM', KEYS[1], unpack(done, j, math.min(j + 999, #done))) end
return prevs
`);
