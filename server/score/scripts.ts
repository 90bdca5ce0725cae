/**
 * The two Lua scripts of a batch. Key names follow `infra/keys.ts`; all keys
 * share the prefix's hash tag. The pure mirror of APPLY, used to check it,
 * is `fold.ts`.
 */
import { Script } from '../infra/script.js';
import { POST_CONCAVITY } from './model.js';

/**
 * APPLY: KEYS = [meta, dirty]; ARGV = [expected watermark, new watermark,
 * key base, batch clock, delta JSON...]. Adds each account's delta to its
 * state, advances the watermark and the clock, and marks the account and its
 * entity dirty, all or nothing.
 */
export const APPLY = new Script(`
local wm = redis.call('HGET', KEYS[1], 'wm') or ''
if wm ~= ARGV[1] then return redis.error_reply('STALE ' .. wm) end
redis.call('HSET', KEYS[1], 'wm', ARGV[2])
if tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[1], 'clock') or '0') then redis.call('HSET', KEYS[1], 'clock', ARGV[4]) end
local B = ARGV[3]
local BETA = ${POST_CONCAVITY}
-- Top posts and top engagers, for explanations (which name the top 5): trimmed back to the 20 heaviest
-- past 40, far inside Redis's listpack limit for sorted sets (128), past which a set takes several
-- times the memory. The lightest go, so an early heavy engager stays.
local TRIM_AT, TRIM_TO = 40, 20
local function trim(key, max, keep)
  if redis.call('ZCARD', key) > max then redis.call('ZREMRANGEBYRANK', key, 0, -(keep + 1)) end
end
local function pow(x) if x <= 0 then return 0 end return x ^ BETA end
for i = 5, #ARGV do
  local raw = ARGV[i]
  -- An account that only acted (liked, followed ...) changes nothing once it exists, unless this is an earlier first sight.
  local touchId, touchFirst = string.match(raw, '^T|(.-)|(%d+)$')
  if touchId then
    local key = B .. 'a:' .. touchId
    local cur = redis.call('HGET', key, 'first')
    if not cur or tonumber(touchFirst) < tonumber(cur) then
      redis.call('HSET', key, 'first', touchFirst)
      redis.call('SADD', KEYS[2], touchId)
      local owner = redis.call('HGET', B .. 'owner', touchId)
      if owner then redis.call('SADD', KEYS[2], owner) end
    end
  else
  local d = cjson.decode(raw)
  local id = d.id
  local key, pk = B .. 'a:' .. id, B .. 'p:' .. id
  local cur = redis.call('HMGET', key, 'first', 'last', 'fts', 'f', 'nts', 'name')
  if not cur[1] or d.first < tonumber(cur[1]) then redis.call('HSET', key, 'first', d.first) end
  if d.last > 0 and d.last > tonumber(cur[2] or '0') then redis.call('HSET', key, 'last', d.last) end
  if d.followers then
    local cts = tonumber(cur[3] or '-1')
    if d.followers.ts > cts or (d.followers.ts == cts and d.followers.value > tonumber(cur[4] or '0')) then
      redis.call('HSET', key, 'f', d.followers.value, 'fts', d.followers.ts)
    end
  end
  if d.name then
    local cts = tonumber(cur[5] or '-1')
    if d.name.ts > cts or (d.name.ts == cts and d.name.value > (cur[6] or '')) then
      redis.call('HSET', key, 'name', d.name.value, 'nts', d.name.ts)
    end
  end
  if d.follows ~= 0 then redis.call('HINCRBY', key, 'nf', d.follows) end
  for t, n in pairs(d.counts) do redis.call('HINCRBY', key, 'n:' .. t, n) end
  for p, topics in pairs(d.postTopics) do redis.call('HSET', pk, 't|' .. p, table.concat(topics, ',')) end
  -- Days with tagged posts, per topic: one hash per account (topic -> comma-joined days), 'td:<topic>' their count.
  local dyk = B .. 'dy:' .. id
  for topic, a in pairs(d.authored) do
    redis.call('HINCRBY', key, 'tp:' .. topic, a.posts)
    local list = redis.call('HGET', dyk, topic)
    local moved = false
    if not list then
      -- Days an earlier version kept in a set per topic are moved into the hash, once.
      local old = B .. 'td:' .. id .. ':' .. topic
      list = table.concat(redis.call('SMEMBERS', old), ',')
      moved = list ~= ''
      if moved then redis.call('DEL', old) end
    end
    local seen = ','
    if list ~= '' then seen = ',' .. list .. ',' end
    local added = 0
    for _, day in ipairs(a.days) do
      local s = string.format('%d', day)
      if not string.find(seen, ',' .. s .. ',', 1, true) then
        seen = seen .. s .. ','
        added = added + 1
      end
    end
    if added > 0 or moved then
      local days = string.sub(seen, 2, -2)
      redis.call('HSET', dyk, topic, days)
      local _, commas = string.gsub(days, ',', '')
      redis.call('HSET', key, 'td:' .. topic, commas + 1)
    end
  end
  local dE, dA = 0, 0
  local tp = B .. 'po:' .. id
  local newPosts = 0
  for p, v in pairs(d.posts) do
    local old = redis.call('HMGET', pk, 'e|' .. p, 'a|' .. p)
    local oe, oa = tonumber(old[1] or '0'), tonumber(old[2] or '0')
    local ne, na = oe, oa
    if v.e > 0 then ne = tonumber(redis.call('HINCRBYFLOAT', pk, 'e|' .. p, v.e)); dE = dE + pow(ne) - pow(oe) end
    if v.a > 0 then na = tonumber(redis.call('HINCRBYFLOAT', pk, 'a|' .. p, v.a)); dA = dA + pow(na) - pow(oa) end
    newPosts = newPosts + redis.call('ZADD', tp, pow(ne) + pow(na), p)
    local tl = redis.call('HGET', pk, 't|' .. p)
    if tl and v.w > 0 then
      for topic in string.gmatch(tl, '[^,]+') do
        redis.call('HINCRBYFLOAT', key, 'tv:' .. topic, v.w)
        local ek = B .. 'te:' .. id .. ':' .. topic
        -- PFADD answers 0 when no register moved: the count is the same.
        if redis.call('PFADD', ek, unpack(v.engagers)) == 1 then redis.call('HSET', key, 'te:' .. topic, redis.call('PFCOUNT', ek)) end
      end
    end
  end
  -- The set only grows when ZADD added a post.
  if newPosts > 0 then trim(tp, TRIM_AT, TRIM_TO) end
  if dE ~= 0 then redis.call('HINCRBYFLOAT', key, 'E', dE) end
  if dA ~= 0 then redis.call('HINCRBYFLOAT', key, 'A', dA) end
  if d.outcomes > 0 then redis.call('HINCRBYFLOAT', key, 'O', d.outcomes) end
  for _, en in ipairs(d.endorsements) do
    if redis.call('SADD', B .. 'k:' .. id, en.key) == 1 then
      redis.call('HINCRBYFLOAT', key, 'K', en.w)
      redis.call('HINCRBYFLOAT', key, 'tv:' .. en.topic, en.w)
      local kk = B .. 'tk:' .. id .. ':' .. en.topic
      redis.call('SADD', kk, en.endorser)
      redis.call('HSET', key, 'tk:' .. en.topic, redis.call('SCARD', kk))
    end
  end
  if #d.engagers > 0 then
    local hk = B .. 'hll:' .. id
    if redis.call('PFADD', hk, unpack(d.engagers)) == 1 then redis.call('HSET', key, 'D', redis.call('PFCOUNT', hk)) end
  end
  if d.received > 0 then redis.call('HINCRBY', key, 'N', d.received) end
  local ek = B .. 'en:' .. id
  for who, w in pairs(d.engagerWeights) do redis.call('ZINCRBY', ek, w, who) end
  trim(ek, TRIM_AT, TRIM_TO)
  redis.call('SADD', KEYS[2], id)
  local owner = redis.call('HGET', B .. 'owner', id)
  if owner then redis.call('SADD', KEYS[2], owner) end
  end
end
return #ARGV - 4
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
 * WRITE: KEYS = [taken dirty marks]; ARGV = [key base, clock, write JSON...]. For each
 * entity: its record, its place in every leaderboard scope (leaving the scopes
 * it no longer belongs to), its history buckets, and its dirty mark cleared.
 * An account's own score also goes to the account-score set; a scope the
 * entity enters is added to the set of scopes. Returns each
 * entity's previous score ('' for none).
 */
export const WRITE = new Script(`
local B = ARGV[1]
local clock = tonumber(ARGV[2])
local DAY, MONTH = 86400000, 30 * 86400000
local prevs = {}
for i = 3, #ARGV do
  local w = cjson.decode(ARGV[i])
  local id = w.id
  local sk = B .. 'es:' .. id
  local cur = redis.call('HMGET', sk, 's', 'scopes', 's0', 's0t', 'hm')
  local prev = cur[1] or nil
  prevs[#prevs + 1] = prev or ''
  local score = tonumber(w.s)
  -- An account's own score is written with its record: unchanged when the record's is.
  if w.own and w.own ~= prev then
    redis.call('HSET', B .. 'a:' .. id, 's', w.own)
    redis.call('ZADD', B .. 'as', w.own, id)
  end
  local remove = w.remove
  if w.account and redis.call('HEXISTS', B .. 'owner', id) == 1 then remove = true end
  if w.entity and redis.call('SISMEMBER', B .. 'entities', id) == 0 then remove = true end
  local old = cur[2] or nil
  local keep, had = {}, {}
  if not remove then for scope, _ in pairs(w.scopes) do keep[scope] = true end end
  if old then
    for scope in string.gmatch(old, '[^,]+') do
      had[scope] = true
      if not keep[scope] then redis.call('ZREM', B .. 'lb:' .. scope, id) end
    end
  end
  if remove then
    redis.call('DEL', sk, B .. 'h1:' .. id, B .. 'h2:' .. id)
    redis.call('ZREM', B .. 'sc', id)
  else
    local names = {}
    for scope, s in pairs(w.scopes) do
      -- A scope that carries the entity's score, which has not moved, already holds it; topic scopes have scores of their own.
      if prev ~= w.s or not had[scope] or string.sub(scope, 1, 6) == 'topic:' then redis.call('ZADD', B .. 'lb:' .. scope, s, id) end
      if not had[scope] then redis.call('SADD', B .. 'scopes', scope) end
      names[#names + 1] = scope
    end
    table.sort(names)
    local h1, h2 = B .. 'h1:' .. id, B .. 'h2:' .. id
    -- History only records moves: an unchanged score leaves the buckets as they are. 'hm' is the
    -- newest minute written: within it only the bucket is replaced; a new minute also drops the old ones.
    local m = math.floor(clock / 60000) * 60000
    local hm = cur[5] or ''
    if prev ~= w.s then
      local h = math.floor(clock / 3600000) * 3600000
      redis.call('ZREMRANGEBYSCORE', h1, m, m)
      redis.call('ZADD', h1, m, m .. ':' .. w.s)
      redis.call('ZREMRANGEBYSCORE', h2, h, h)
      redis.call('ZADD', h2, h, h .. ':' .. w.s)
      if hm ~= tostring(m) then
        redis.call('ZREMRANGEBYSCORE', h1, '-inf', '(' .. (m - DAY))
        redis.call('ZREMRANGEBYSCORE', h2, '-inf', '(' .. (h - MONTH))
        hm = tostring(m)
      end
    end
    -- Movement over the last day of event time: now against the oldest point of the day before this
    -- minute, or against the first score ever if the entity is younger than that.
    local m0 = math.floor(clock / 60000) * 60000
    local first = redis.call('ZRANGEBYSCORE', h1, clock - DAY, '(' .. m0, 'LIMIT', 0, 1)[1]
    local s0 = { cur[3] or nil, cur[4] or nil }
    if not prev then s0 = { w.s, ARGV[2] } end
    local base = score
    if first then base = tonumber(string.match(first, ':(.*)$'))
    elseif s0[1] and tonumber(s0[2]) >= clock - DAY then base = tonumber(s0[1]) end
    local d = math.floor((score - base) * 10 + 0.5)
    local fields = { 's', w.s, 'd', string.format('%.1f', d / 10), 'at', ARGV[2], 'scopes', table.concat(names, ','), 's0', s0[1], 's0t', s0[2], 'hm', hm }
    for k, v in pairs(w.fields) do fields[#fields + 1] = k; fields[#fields + 1] = v end
    redis.call('HSET', sk, unpack(fields))
    redis.call('ZADD', B .. 'sc', clock, id)
  end
  redis.call('SREM', KEYS[1], id)
end
return prevs
`);
