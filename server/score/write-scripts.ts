/**
 * The Lua scripts of a score write (TAKE, WRITE). Key names follow
 * `infra/keys.ts`; all keys share the prefix's hash tag. The batch's script
 * (APPLY) is in `scripts.ts`.
 */
import { Script } from '../infra/script.js';
import { COMPONENT_NAMES } from './model.js';

/** The fields of a score record besides its score `s` (a registered entity's also holds `name`, `kind` and `accounts`). */
export const RECORD_FIELDS = ['d', 'scopes', 's0', 's0t', 'hm', 'hv', 'topics', 'u', 'c', 'hs', 'at'] as const;

/**
 * An entity's score history is the record's field `hs` while it is
 * HISTORY_FIELD_MAX bytes or less, `<minute>:<score>,...;<hour>:<score>,...`
 * (minutes and hours counted from 1970, oldest first), and otherwise a
 * sorted set of its own (`h:<id>`: score = the minute's start in ms, member
 * `<ms>:<score>`; minus the hour's start, member `-<ms>:<score>`).
 */
export const HISTORY_FIELD_MAX = 300;

/** Lua shared by WRITE and the move of earlier versions' history (legacy.ts): the field's buckets as lists of { index, score }. */
export const HISTORY_LUA = `
local function parseHistory(v)
  local M, H = {}, {}
  local semi = string.find(v, ';', 1, true) or (#v + 1)
  for t, x in string.gmatch(string.sub(v, 1, semi - 1), '(%d+):([^,]+)') do M[#M + 1] = { tonumber(t), x } end
  for t, x in string.gmatch(string.sub(v, semi + 1), '(%d+):([^,]+)') do H[#H + 1] = { tonumber(t), x } end
  return M, H
end
local function historyField(M, H)
  local a, b = {}, {}
  for i, e in ipairs(M) do a[i] = e[1] .. ':' .. e[2] end
  for i, e in ipairs(H) do b[i] = e[1] .. ':' .. e[2] end
  return table.concat(a, ',') .. ';' .. table.concat(b, ',')
end
`;

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
 * WRITE: KEYS = [the dirty marks it clears, meta]; ARGV = [key base, clock,
 * the watermark it was read at or '', write JSON...]. With a watermark, it
 * writes nothing and returns 'MOVED' if an apply has moved it since. For each
 * entity: its record, its place in every leaderboard scope (leaving the scopes
 * it no longer belongs to), its history buckets, and its dirty mark cleared.
 * An account's record is fields of its account hash (`RECORD_FIELDS`, and
 * `s`, which is also its own score); a registered entity's is a hash of its
 * own (`es:<id>`), and holds the clock it was scored at (`at`). A scope the
 * entity enters is added to the set of scopes. Leaderboard places, new scopes
 * and cleared marks are written once per call, one command per key. Returns
 * each entity's previous score ('' for none), and each entity's rank on the
 * global board from 0 where its write asks for it (`rank`: someone watches it
 * live) and it was not removed, -1 otherwise.
 */
export const WRITE = new Script(`
local B = ARGV[1]
local clock = tonumber(ARGV[2])
-- A write read right after an apply is stored only if no apply has run since: otherwise a newer state,
-- and marks it did not score, may be there; the next score write scores them.
if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], 'wm') ~= ARGV[3] then return 'MOVED' end
local DAY, MONTH, HOUR = 86400000, 30 * 86400000, 3600000
local HIST_MAX = ${HISTORY_FIELD_MAX}
${HISTORY_LUA}
local prevs, ranks, ranked = {}, {}, {}
-- Written together at the end: scope -> { score, id, ... }, new scopes, cleared marks.
local places, scopeOrder, newScopes, newScopeSeen, done = {}, {}, {}, {}, {}
local function place(scope, s, id)
  local list = places[scope]
  if not list then list = {}; places[scope] = list; scopeOrder[#scopeOrder + 1] = scope end
  list[#list + 1] = s; list[#list + 1] = id
end
local function inChunks(cmd, key, list, width)
  local step = 1000 * width
  for i = 1, #list, step do redis.call(cmd, key, unpack(list, i, math.min(i + step - 1, #list))) end
end
for i = 4, #ARGV do
  local w = cjson.decode(ARGV[i])
  local id = w.id
  -- An account's record is fields of its account hash, whose 's' is also its own score (read at ingest),
  -- which stays while an entity claims the account and its record is gone: the record is there when
  -- its scopes are. A registered entity's record is a hash of its own.
  local sk = B .. 'es:' .. id
  if w.account then sk = B .. 'a:' .. id end
  -- The record's fields this write may set, read with those the script needs, so that only what changed is written.
  local given = {}
  for k, _ in pairs(w.fields) do given[#given + 1] = k end
  local cur = redis.call('HMGET', sk, 's', 'scopes', 's0', 's0t', 'hm', 'hv', 'd', 'hs', 'at', unpack(given))
  local own = cur[1] or nil
  local prev = own
  if w.account and not cur[2] then prev = nil end
  prevs[#prevs + 1] = prev or ''
  ranks[#prevs] = -1
  local score = tonumber(w.s)
  local remove = w.remove
  if w.account and redis.call('HEXISTS', B .. 'owner', id) == 1 then remove = true end
  if w.entity and redis.call('SISMEMBER', B .. 'entities', id) == 0 then remove = true end
  local old = cur[2] or nil
  -- An account's record leaves out the scopes every scored account is in, 'global' and its network's
  -- (so an account with no topic scope has 'scopes' = ''); records written before 0.11 list them.
  local implied = nil
  if w.account then implied = { global = true, ['network:' .. string.match(id, '^([^:]*):')] = true } end
  local keep, had = {}, {}
  if not remove then for scope, _ in pairs(w.scopes) do keep[scope] = true end end
  if old then
    for scope in string.gmatch(old, '[^,]+') do had[scope] = true end
    if implied then for scope, _ in pairs(implied) do had[scope] = true end end
    for scope, _ in pairs(had) do
      if not keep[scope] then redis.call('ZREM', B .. 'lb:' .. scope, id) end
    end
  end
  if remove then
    if w.account then
      -- The account keeps its state and its own score; its record, history and any record an earlier version kept apart go.
      if cur[2] then redis.call('HDEL', sk, ${RECORD_FIELDS.map((f) => `'${f}'`).join(', ')}, ${COMPONENT_NAMES.map((c) => `'c:${c}'`).join(', ')}) end
      if w.own ~= own then redis.call('HSET', sk, 's', w.own) end
      redis.call('DEL', B .. 'es:' .. id, B .. 'h:' .. id, B .. 'h1:' .. id, B .. 'h2:' .. id)
    else
      redis.call('DEL', sk, B .. 'h:' .. id, B .. 'h1:' .. id, B .. 'h2:' .. id)
    end
  else
    local names = {}
    for scope, s in pairs(w.scopes) do
      -- A scope that carries the entity's score, which has not moved, already holds it; topic scopes have scores of their own.
      if prev ~= w.s or not had[scope] or string.sub(scope, 1, 6) == 'topic:' then place(scope, s, id) end
      if not had[scope] and not newScopeSeen[scope] then newScopeSeen[scope] = true; newScopes[#newScopes + 1] = scope end
      if not (implied and implied[scope]) then names[#names + 1] = scope end
    end
    table.sort(names)
    -- History (HISTORY_FIELD_MAX): the record's field 'hs' while small, else one sorted set: minute
    -- buckets for a day (score = the minute, member '<minute>:<score>') and hour buckets for 30 days
    -- (score = minus the hour, member '-<hour>:<score>').
    local hk = B .. 'h:' .. id
    -- The record's layout ('hv'): none or 1 before 0.6, 2 before 0.7.2 (components one field each), 3 now.
    local layout = tonumber(cur[6] or '0') or 0
    if prev and layout < 3 then redis.call('HDEL', sk, ${COMPONENT_NAMES.map((c) => `'c:${c}'`).join(', ')}) end
    if prev and layout < 2 then
      -- Kept in two sets by versions before 0.6 (minutes in 'h1:', hours in 'h2:'): moved in once.
      local h1, h2 = B .. 'h1:' .. id, B .. 'h2:' .. id
      local moved = {}
      for _, b in ipairs(redis.call('ZRANGE', h1, 0, -1)) do
        moved[#moved + 1] = tonumber(string.match(b, '^(%d+):')); moved[#moved + 1] = b
      end
      for _, b in ipairs(redis.call('ZRANGE', h2, 0, -1)) do
        moved[#moved + 1] = -tonumber(string.match(b, '^(%d+):')); moved[#moved + 1] = '-' .. b
      end
      inChunks('ZADD', hk, moved, 2)
      redis.call('DEL', h1, h2)
    end
    -- History only records moves: an unchanged score leaves the buckets as they are. 'hm' is the
    -- newest minute written (the clock only moves forward). A move replaces the bucket of this minute
    -- and of this hour, and drops the buckets too old to keep (minutes past a day, hours past 30).
    -- Movement over the last day of event time: now against the oldest point of the day before this
    -- minute, or against the first score ever if the entity is younger than that.
    local m = math.floor(clock / 60000) * 60000
    local h = math.floor(clock / HOUR) * HOUR
    local hm = cur[5] or ''
    local hs = cur[8] or nil
    local firstScore = nil
    -- A history that is no sorted set (a new one, or one kept in the field) is the field's.
    if not hs and redis.call('EXISTS', hk) == 0 then hs = '' end
    local hsOut = hs
    if hs then
      local M, H = parseHistory(hs)
      if prev ~= w.s then
        local mi, hi = m / 60000, h / HOUR
        local M2, H2 = {}, {}
        for _, e in ipairs(M) do if e[1] ~= mi and e[1] * 60000 >= m - DAY then M2[#M2 + 1] = e end end
        for _, e in ipairs(H) do if e[1] ~= hi and e[1] * HOUR >= h - MONTH then H2[#H2 + 1] = e end end
        M2[#M2 + 1] = { mi, w.s }; H2[#H2 + 1] = { hi, w.s }
        M, H = M2, H2
        hm = tostring(m)
      end
      for _, e in ipairs(M) do
        local t = e[1] * 60000
        if t >= clock - DAY and t < m then firstScore = tonumber(e[2]); break end
      end
      hsOut = historyField(M, H)
      if #hsOut > HIST_MAX then
        -- Too big for the record: a sorted set from now on.
        local z = {}
        for _, e in ipairs(M) do z[#z + 1] = e[1] * 60000; z[#z + 1] = (e[1] * 60000) .. ':' .. e[2] end
        for _, e in ipairs(H) do z[#z + 1] = -(e[1] * HOUR); z[#z + 1] = '-' .. (e[1] * HOUR) .. ':' .. e[2] end
        inChunks('ZADD', hk, z, 2)
        hsOut = nil
      end
    else
      -- The sorted set: a bucket of this minute or hour exists only if 'hm' falls in it, and a new
      -- minute drops the buckets too old to keep. A record without 'hm' (older versions) is treated
      -- as if every bucket might exist.
      if prev ~= w.s then
        local hmn = tonumber(hm)
        if not hmn or hmn == m then redis.call('ZREMRANGEBYSCORE', hk, m, m) end
        if not hmn or math.floor(hmn / HOUR) * HOUR == h then redis.call('ZREMRANGEBYSCORE', hk, -h, -h) end
        redis.call('ZADD', hk, m, m .. ':' .. w.s, -h, '-' .. h .. ':' .. w.s)
        if hm ~= tostring(m) then
          redis.call('ZREMRANGEBYSCORE', hk, 0, '(' .. (m - DAY))
          if not hmn or math.floor(hmn / HOUR) * HOUR ~= h then redis.call('ZREMRANGEBYSCORE', hk, '(' .. (MONTH - h), '(0') end
          hm = tostring(m)
        end
      end
      local first = redis.call('ZRANGEBYSCORE', hk, clock - DAY, '(' .. m, 'LIMIT', 0, 1)[1]
      if first then firstScore = tonumber(string.match(first, ':(.*)$')) end
    end
    -- The first score and its time ('s0', 's0t') are the base of the movement while the entity is
    -- younger than a day of event time; past that they are never read again (the clock only moves
    -- forward), and go.
    local s0 = { cur[3] or nil, cur[4] or nil }
    if not prev then s0 = { w.s, ARGV[2] } end
    if s0[2] and tonumber(s0[2]) < clock - DAY then s0 = {} end
    local base = score
    if firstScore then base = firstScore
    elseif s0[1] and tonumber(s0[2]) >= clock - DAY then base = tonumber(s0[1]) end
    local d = math.floor((score - base) * 10 + 0.5)
    -- Only the fields whose values change are written (each one written also goes into the AOF); a
    -- field whose value is nil or '' is left out of the record (deleted if there). Left out: a movement
    -- of 0 ('d'), no qualified topics, and the newest minute ('hm') of a history kept in the field (its
    -- last minute). ('u' stays: the account's last activity may move on before the record is read, and
    -- the record says what its score covers.)
    local fields, gone = {}, {}
    local function put(f, v, was)
      if v == nil or v == '' then
        if was then gone[#gone + 1] = f end
      elseif v ~= was then fields[#fields + 1] = f; fields[#fields + 1] = v end
    end
    put('s', w.s, own)
    if d ~= 0 then put('d', string.format('%.1f', d / 10), cur[7] or nil) else put('d', nil, cur[7] or nil) end
    -- Kept even when '' (an account in no topic scope): the record is there when its scopes are.
    if table.concat(names, ',') ~= old then fields[#fields + 1] = 'scopes'; fields[#fields + 1] = table.concat(names, ',') end
    put('s0', s0[1], cur[3] or nil)
    put('s0t', s0[2], cur[4] or nil)
    if hsOut then put('hm', nil, cur[5] or nil) else put('hm', hm, cur[5] or nil) end
    put('hv', '3', cur[6] or nil)
    for k, f in ipairs(given) do put(f, w.fields[f], cur[9 + k] or nil) end
    put('hs', hsOut, cur[8] or nil)
    -- The clock it was scored at, which the decay sweep reads (SWEEP).
    put('at', ARGV[2], cur[9] or nil)
    if #fields > 0 then redis.call('HSET', sk, unpack(fields)) end
    if #gone > 0 then redis.call('HDEL', sk, unpack(gone)) end
    if w.rank then ranked[#ranked + 1] = #prevs end
  end
  done[#done + 1] = id
end
for _, scope in ipairs(scopeOrder) do inChunks('ZADD', B .. 'lb:' .. scope, places[scope], 2) end
inChunks('SADD', B .. 'scopes', newScopes, 1)
inChunks('SREM', KEYS[1], done, 1)
for _, k in ipairs(ranked) do ranks[k] = redis.call('ZREVRANK', B .. 'lb:global', done[k]) or -1 end
return { prevs, ranks }
`);

/**
 * Lua: the key of an entity's score record in key base B, as `Keys.score`
 * gives it (an account id holds the network's ':', an entity id never does).
 */
export const RECORD_KEY_LUA = `
local function recordKey(B, id)
  if string.find(id, ':', 1, true) then return B .. 'a:' .. id end
  return B .. 'es:' .. id
end
`;

/**
 * SWEEP: KEYS = [global board, dirty, meta]; ARGV = [key base, stale before
 * (an event time), most entries to look at, most to mark]. Walks `global`
 * (every scored entity is on it) with ZSCAN from the cursor that `meta`'s
 * `sweep` keeps, and marks dirty each entity whose record was scored before
 * the given time (its field `at`; a record without one counts as stale),
 * until it has looked at enough entries or marked enough, or the walk ends
 * (the next call starts it again). A ZSCAN step's entries after the last one
 * marked wait for the next walk. Returns how many it marked. Each entity
 * takes one field of its record where a sorted set of scoring times took a
 * skiplist entry (~95 bytes) each.
 */
export const SWEEP = new Script(`
local B = ARGV[1]
${RECORD_KEY_LUA}
local before, budget, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cursor = redis.call('HGET', KEYS[3], 'sweep') or '0'
local seen, stale = 0, {}
repeat
  local r = redis.call('ZSCAN', KEYS[1], cursor, 'COUNT', 100)
  cursor = r[1]
  local items = r[2]
  for i = 1, #items, 2 do
    if #stale >= limit then break end
    local id = items[i]
    local at = tonumber(redis.call('HGET', recordKey(B, id), 'at') or '')
    if not at or at < before then stale[#stale + 1] = id end
  end
  seen = seen + #items / 2
until cursor == '0' or seen >= budget or #stale >= limit
redis.call('HSET', KEYS[3], 'sweep', cursor)
for i = 1, #stale, 1000 do redis.call('SADD', KEYS[2], unpack(stale, i, math.min(i + 999, #stale))) end
return #stale
`);
