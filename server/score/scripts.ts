/**
 * The Lua script of a batch (APPLY). Key names follow `infra/keys.ts`; all
 * keys share the prefix's hash tag. The pure mirror of APPLY, used to check
 * it, is `fold.ts`; the scripts of a score write are in `write-scripts.ts`,
 * and those that move what earlier versions kept elsewhere in `legacy.ts`.
 */
import { Script } from '../infra/script.js';
import { POST_CONCAVITY } from './model.js';
import { POST_LUA } from './post-field.js';
import { TOPIC_LUA } from './topic-field.js';

/**
 * Top engagers of an account, kept for explanations (which name 5): past
 * TOP_SET_MAX members the set is trimmed back to its TOP_SET_KEEP heaviest.
 */
export const TOP_SET_MAX = 16;
export const TOP_SET_KEEP = 8;
/**
 * Top engagers' weights are kept in thousandths, rounded to whole numbers,
 * which a sorted set's listpack keeps in 9 bytes or fewer (a fraction takes
 * 17 digits).
 */
export const ENGAGER_SCALE = 1000;
/**
 * Top engagers are the field `g|` of the account's evidence hash (since
 * 0.12.6), packed (cmsgpack: handle, weight, ..., in no order: put in
 * ZREVRANGE's order when trimmed and when read), while it takes TOP_FIELD_MAX
 * bytes or less, inside the hash's listpack limit (512); a bigger one, and
 * one an earlier version kept, is the sorted set `g:<id>`. A key of its own
 * took ~100 bytes of Redis's bookkeeping (its name, its entry in the
 * keyspace) beside the list itself.
 */
export const TOP_FIELD_MAX = 480;

/**
 * Distinct engagers are HyperLogLogs (an account's, and one per topic). One
 * of at most HLL_FIELD_MAX bytes (the sparse encoding, ~150 engagers) is a
 * field of the account's evidence hash; a bigger one is a key of its own,
 * so that the hash stays inside Redis's compact listpack encoding
 * (`hash-max-listpack-value` 512).
 */
export const HLL_FIELD_MAX = 300;

/**
 * What a HyperLogLog field leaves out (since 0.12.2) and APPLY puts back
 * before it works on one: Redis's header of a sparse HyperLogLog, its magic
 * `HYLL`, encoding 1 (sparse), three unused bytes and a cached count marked
 * invalid (the top bit of its last byte).
 */
export const HLL_FIELD_HEADER = Buffer.from('HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80', 'latin1');
const HLL_FIELD_HEADER_LUA = [...HLL_FIELD_HEADER].map((b) => (b >= 0x41 && b <= 0x5a ? String.fromCharCode(b) : `\\${b}`)).join('');

/**
 * Top engagers as pairs { handle, weight } in ZREVRANGE's order: heaviest
 * first; of equal weights, the later handle in byte order first (Lua's '<'
 * on strings follows the locale, Redis's order of equal scores is bytes').
 */
const ORDER_LUA = `
local function lessBytes(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function heavierFirst(x, y) if x[2] ~= y[2] then return x[2] > y[2] end return lessBytes(y[1], x[1]) end
`;

/**
 * APPLY: KEYS = [meta, dirty]; ARGV = [expected watermark, new watermark,
 * key base, batch clock, delta JSON...]. Adds each account's delta to its
 * state, advances the watermark and the clock, and marks the account and its
 * entity dirty, all or nothing.
 *
 * Each account hash is read once (HMGET of the fields the delta changes) and
 * written once (HSET): the arithmetic is Lua's, in doubles, and numbers go
 * to Redis with 17 significant digits, so a value reads back exactly as it
 * was computed. Dirty marks and owners are read and set once per batch.
 * Returns the entities that claim the batch's accounts (once per account).
 */
export const APPLY = new Script(`
local wm = redis.call('HGET', KEYS[1], 'wm') or ''
if wm ~= ARGV[1] then return redis.error_reply('STALE ' .. wm) end
redis.call('HSET', KEYS[1], 'wm', ARGV[2])
if tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[1], 'clock') or '0') then redis.call('HSET', KEYS[1], 'clock', ARGV[4]) end
local B = ARGV[3]
local BETA = ${POST_CONCAVITY}
-- Top engagers, for explanations (which name the top 5): trimmed back to the heaviest TRIM_TO past
-- TRIM_AT, far inside Redis's listpack limit for sorted sets (128), past which a set takes several
-- times the memory, and small enough, mostly, for a field (TOP_FIELD_MAX). The lightest go, so an
-- early heavy engager stays. (Top posts need no set of their
-- own: every post's sums are fields of the account's evidence hash, 'p|<post>'.)
local TRIM_AT, TRIM_TO = ${TOP_SET_MAX}, ${TOP_SET_KEEP}
local function trim(key)
  if redis.call('ZCARD', key) > TRIM_AT then redis.call('ZREMRANGEBYRANK', key, 0, -(TRIM_TO + 1)) end
end
${ORDER_LUA}
-- Adds the weights (handles who[k], weights ws[k], in ENGAGER_SCALE units) to the top engagers packed in
-- the evidence hash's field 'g|' (its value v, or nil: cmsgpack of handle, weight, ..., in no order), as
-- ZADD of the sums and trim() would to the sorted set: returns the new field's value, or nil if it is too
-- big for a field (TOP_FIELD_MAX), in which case it has become the sorted set 'key'.
local TOP_MAX = ${TOP_FIELD_MAX}
local function addTop(v, key, who, ws)
  local list, at = {}, {}
  if v then
    list = cmsgpack.unpack(v)
    for i = 1, #list, 2 do at[list[i]] = i end
  end
  for k = 1, #who do
    local i = at[who[k]]
    if i then list[i + 1] = math.floor(list[i + 1] + ws[k] * ${ENGAGER_SCALE} + 0.5)
    else
      list[#list + 1] = who[k]; list[#list + 1] = math.floor(ws[k] * ${ENGAGER_SCALE} + 0.5)
      at[who[k]] = #list - 1
    end
  end
  if #list > 2 * TRIM_AT then
    local members = {}
    for i = 1, #list, 2 do members[#members + 1] = { list[i], list[i + 1] } end
    table.sort(members, heavierFirst)
    list = {}
    for j = 1, TRIM_TO do list[#list + 1] = members[j][1]; list[#list + 1] = members[j][2] end
  end
  local packed = cmsgpack.pack(list)
  if #packed <= TOP_MAX then return packed end
  local z = {}
  for i = 1, #list, 2 do z[#z + 1] = list[i + 1]; z[#z + 1] = list[i] end
  redis.call('ZADD', key, unpack(z))
  return nil
end
local function pow(x) if x <= 0 then return 0 end return x ^ BETA end
local function num(x) return tonumber(x or '0') or 0 end
${TOPIC_LUA}
${POST_LUA}
-- Adds members to a HyperLogLog that is the field 'field' of the delta's evidence hash (its value v,
-- or nil) or, once bigger than HLL_MAX, the key 'key'; returns the new count, or nil if no register
-- moved. A field's HyperLogLog is worked on in the scratch key S, whose commands are neither
-- replicated nor written to the AOF (it is deleted once, when the script ends): what they log is the
-- field. Writes to the evidence hash go through 'pout' (false: delete the field).
local HLL_MAX, S = ${HLL_FIELD_MAX}, B .. 'hll:~'
-- A field's HyperLogLog leaves out the 16 bytes of Redis's header (HLL_FIELD_HEADER): every one small
-- enough for a field is sparse, and the header's cached count is one PFCOUNT recomputes anyway (HLL_MAX
-- still counts the header, so the same ones become keys). A field written before 0.12.2 holds the
-- header, and is read as it is: a sparse body never starts with 'HYLL' (that would be two zero runs in a
-- row, which Redis merges into one).
local HLL_HEAD = '${HLL_FIELD_HEADER_LUA}'
local pout, scratch
local function pfadd(key, members)
  local changed = 0
  for i = 1, math.max(1, #members), 1000 do
    if redis.call('PFADD', key, unpack(members, i, math.min(i + 999, #members))) == 1 then changed = 1 end
  end
  return changed == 1
end
local function distinct(field, v, key, members)
  if not v and redis.call('EXISTS', key) == 1 then
    if pfadd(key, members) then return redis.call('PFCOUNT', key) end
    return nil
  end
  redis.set_repl(redis.REPL_NONE)
  if v then
    if string.sub(v, 1, 4) ~= 'HYLL' then v = HLL_HEAD .. v end
    redis.call('SET', S, v)
  else redis.call('DEL', S) end
  local n = nil
  if pfadd(S, members) then n = redis.call('PFCOUNT', S); v = redis.call('GET', S) end
  redis.set_repl(redis.REPL_ALL)
  scratch = true
  if n then
    if #v > HLL_MAX then redis.call('SET', key, v); pout[field] = false
    elseif string.byte(v, 5) == 1 then pout[field] = string.sub(v, 17)
    else pout[field] = v end
  end
  return n
end
-- A delta leaves out what it does not change (empty lists and maps, zero amounts).
local EMPTY = {}
-- Accounts marked dirty by this batch, each once; their owners are looked up together at the end.
local marked, marks = {}, {}
local function mark(id) if not marked[id] then marked[id] = true; marks[#marks + 1] = id end end
-- The times of an account's follower count and name ('fts', 'nts') are left out while they equal its first
-- sight ('first'), as they do when an account is first seen in its profile, and read as 'first'. When
-- 'first' moves earlier, a time left out is written out as the old 'first': the fields to set for it.
local function stampsKept(key, oldFirst)
  local v = redis.call('HMGET', key, 'f', 'fts', 'name', 'nts')
  local set = {}
  if v[1] and not v[2] then set[#set + 1] = 'fts'; set[#set + 1] = oldFirst end
  if v[3] and not v[4] then set[#set + 1] = 'nts'; set[#set + 1] = oldFirst end
  return set
end
for i = 5, #ARGV do
  local raw = ARGV[i]
  -- An account that only acted (liked, followed ...) changes nothing once it exists, unless this is an earlier first sight.
  local touchId, touchFirst = string.match(raw, '^T|(.-)|(%d+)$')
  if touchId then
    local key = B .. 'a:' .. touchId
    local cur = redis.call('HGET', key, 'first')
    if not cur or tonumber(touchFirst) < tonumber(cur) then
      local set = {}
      if cur then set = stampsKept(key, cur) end
      redis.call('HSET', key, 'first', touchFirst, unpack(set))
      mark(touchId)
    end
  else
  local d = cjson.decode(raw)
  local id = d.id
  local posts, postTopics, authored = d.posts or EMPTY, d.postTopics or EMPTY, d.authored or EMPTY
  local endorsements, engagers, engagerWeights = d.endorsements or EMPTY, d.engagers or EMPTY, d.engagerWeights or EMPTY
  local last, follows, outcomes, received = d.last or 0, d.follows or 0, d.outcomes or 0, d.received or 0
  local key, dyk = B .. 'a:' .. id, B .. 'dy:' .. id
  -- The account's evidence hash (dy:) holds one field per post, 'p|<post>' (its engagement and
  -- amplification sums and its comma-joined topics, POST_LUA), distinct engagers
  -- (below) and endorsements (below). The posts this delta engages or authors are read in one HMGET.
  local plist, rf = {}, {}
  local anyE, anyA = false, false
  for p, v in pairs(posts) do
    plist[#plist + 1] = p
    if v.e > 0 then anyE = true end
    if v.a > 0 then anyA = true end
  end
  for p, _ in pairs(postTopics) do if not posts[p] then plist[#plist + 1] = p end end
  for _, p in ipairs(plist) do rf[#rf + 1] = 'p|' .. p end
  -- The top engagers' field (addTop), read with them.
  local wantTop = next(engagerWeights) ~= nil
  if wantTop then rf[#rf + 1] = 'g|' end
  local rcur = {}
  if #rf > 0 then rcur = redis.call('HMGET', dyk, unpack(rf)) end
  local topField = wantTop and rcur[#rf] or nil
  -- Each post as stored: its sums, its topics as stored, and its topics as a list (its own, if this delta authors it).
  local pe, pa, pt, ptopics = {}, {}, {}, {}
  for k, p in ipairs(plist) do
    local raw = rcur[k]
    if raw then
      pe[p], pa[p], pt[p] = readPost(raw)
    else
      pe[p], pa[p], pt[p] = 0, 0, ''
    end
    local own = postTopics[p]
    if own then ptopics[p] = own
    elseif pt[p] ~= '' then
      local list = {}
      for topic in string.gmatch(pt[p], '[^,]+') do list[#list + 1] = topic end
      ptopics[p] = list
    end
  end
  -- The account fields this delta changes (and only those), in one read.
  local names = { 'first' }
  local seen = {}
  local function want(f) if not seen[f] then seen[f] = true; names[#names + 1] = f end end
  -- A topic's state is one field, 't:<topic>' (see TOPIC_LUA).
  local function wantTopic(topic) want('t:' .. topic) end
  if last > 0 then want('last') end
  if d.followers then want('fts'); want('f') end
  if d.name then want('nts'); want('name') end
  if follows ~= 0 then want('nf') end
  if anyE then want('E') end
  if anyA then want('A') end
  if outcomes > 0 then want('O') end
  if #endorsements > 0 then want('K') end
  if received > 0 then want('N') end
  for topic, _ in pairs(authored) do wantTopic(topic) end
  for _, p in ipairs(plist) do
    if ptopics[p] and posts[p] and posts[p].w > 0 then for _, topic in ipairs(ptopics[p]) do wantTopic(topic) end end
  end
  for _, en in ipairs(endorsements) do wantTopic(en.topic) end
  local vals = redis.call('HMGET', key, unpack(names))
  -- The current values by name; each wanted topic's parts by position (tcur[topic][1..6], TOPIC_LUA).
  local cur, tcur = {}, {}
  for k, f in ipairs(names) do
    local v = vals[k]
    if string.byte(f, 2) == 58 then
      -- 't:<topic>'; no other field has ':' second.
      if v then tcur[string.sub(f, 3)] = parseTopic(v) else tcur[string.sub(f, 3)] = {} end
    elseif v then cur[f] = v end
  end
  -- What is written back, field -> value: of the account hash (out) and of the evidence hash (pout).
  local out = {}
  pout = {}
  local function add(f, x) out[f] = num(out[f] or cur[f]) + x end
  -- A topic's changed parts by position, as 'out' for fields.
  local tout = {}
  local function tset(topic, j, x) local t = tout[topic]; if not t then t = {}; tout[topic] = t end; t[j] = x end
  local function tadd(topic, j, x) local t = tout[topic]; tset(topic, j, num((t and t[j]) or tcur[topic][j]) + x) end
  if not cur.first or d.first < tonumber(cur.first) then
    out.first = d.first
    if cur.first then
      local set = stampsKept(key, cur.first)
      for k = 1, #set, 2 do out[set[k]] = set[k + 1]; cur[set[k]] = set[k + 1] end
    end
  end
  if last > 0 and last > num(cur.last) then out.last = last end
  if d.followers then
    local cts = tonumber(cur.fts or (cur.f and cur.first) or '-1')
    if d.followers.ts > cts or (d.followers.ts == cts and d.followers.value > num(cur.f)) then
      out.f = d.followers.value; out.fts = d.followers.ts
    end
  end
  if d.name then
    local cts = tonumber(cur.nts or (cur.name and cur.first) or '-1')
    if d.name.ts > cts or (d.name.ts == cts and d.name.value > (cur.name or '')) then
      out.name = d.name.value; out.nts = d.name.ts
    end
  end
  if follows ~= 0 then add('nf', follows) end
  -- Days with tagged posts, per topic: the topic's sixth part holds them (parseDays), its days part counts them.
  for topic, a in pairs(authored) do
    tadd(topic, 1, a.posts)
    local days = parseDays(tcur[topic][6])
    local known = {}
    for _, day in ipairs(days) do known[day] = true end
    local added = 0
    for _, day in ipairs(a.days) do
      if not known[day] then
        known[day] = true
        days[#days + 1] = day
        added = added + 1
      end
    end
    if added > 0 then
      tset(topic, 6, packDays(days))
      tset(topic, 2, #days)
    end
  end
  local dE, dA = 0, 0
  -- Engagers of this delta per topic of the posts they engaged, each topic's HyperLogLog updated once.
  local tengs, tnames = {}, {}
  for _, p in ipairs(plist) do
    local v = posts[p] or EMPTY
    local oe, oa = pe[p], pa[p]
    local ne, na = oe, oa
    if (v.e or 0) > 0 then ne = oe + v.e; dE = dE + pow(ne) - pow(oe) end
    if (v.a or 0) > 0 then na = oa + v.a; dA = dA + pow(na) - pow(oa) end
    local own = postTopics[p]
    local topics = pt[p]
    if own then topics = table.concat(own, ',') end
    if ne ~= oe or na ~= oa or topics ~= pt[p] then pout['p|' .. p] = writePost(ne, na, topics) end
    if ptopics[p] and (v.w or 0) > 0 then
      for _, topic in ipairs(ptopics[p]) do
        tadd(topic, 5, v.w)
        local list = tengs[topic]
        if not list then list = {}; tengs[topic] = list; tnames[#tnames + 1] = topic end
        for _, who in ipairs(v.engagers) do list[#list + 1] = who end
      end
    end
  end
  -- Distinct engagers, per topic of the posts engaged and of the account (the topic's engagers part and 'D' their
  -- counts): each HyperLogLog is the field 'h|<topic>' ('d|' the account's) of the evidence hash,
  -- read in one HMGET, or a key of its own once bigger than HLL_FIELD_MAX (te:<id>:<topic>, hll:<id>).
  local hf, hk, hm = {}, {}, {}
  for _, topic in ipairs(tnames) do hf[#hf + 1] = 'h|' .. topic; hk[#hk + 1] = B .. 'te:' .. id .. ':' .. topic; hm[#hm + 1] = tengs[topic] end
  if #engagers > 0 then hf[#hf + 1] = 'd|'; hk[#hk + 1] = B .. 'hll:' .. id; hm[#hm + 1] = engagers end
  if #hf > 0 then
    local hv = redis.call('HMGET', dyk, unpack(hf))
    for k = 1, #hf do
      local n = distinct(hf[k], hv[k] or nil, hk[k], hm[k])
      if n then
        if k > #tnames then out.D = n else tset(tnames[k], 3, n) end
      end
    end
  end
  if dE ~= 0 then add('E', dE) end
  if dA ~= 0 then add('A', dA) end
  if outcomes > 0 then add('O', outcomes) end
  -- Endorsements counted ('k|<day>|<topic>|<endorser>') and distinct endorsers per topic ('e|<topic>|<endorser>')
  -- are fields of the same hash as the days (topics never hold '|'); the topic's endorsers part counts the endorsers.
  -- (Versions before 0.6 kept them in sets, 'k:<id>' and 'tk:<id>:<topic>', which a scorer's start moves in.)
  if #endorsements > 0 then
    for _, en in ipairs(endorsements) do
      if redis.call('HSETNX', dyk, 'k|' .. en.key, '1') == 1 then
        add('K', en.w)
        tadd(en.topic, 5, en.w)
        if redis.call('HSETNX', dyk, 'e|' .. en.topic .. '|' .. en.endorser, '1') == 1 then tadd(en.topic, 4, 1) end
      end
    end
  end
  if received > 0 then add('N', received) end
  -- Top engagers by handle (the delta's engagers are on the account's network): each weight added in
  -- thousandths, whole (ENGAGER_SCALE), in the evidence hash's field or, where there is one, the sorted set.
  if wantTop then
    local ek = B .. 'g:' .. id
    local who, ws = {}, {}
    for k, w in pairs(engagerWeights) do who[#who + 1] = k; ws[#ws + 1] = w end
    if not topField and redis.call('EXISTS', ek) == 1 then
      local had = redis.call('ZMSCORE', ek, unpack(who))
      local flat = {}
      for k = 1, #who do
        flat[#flat + 1] = math.floor((tonumber(had[k]) or 0) + ws[k] * ${ENGAGER_SCALE} + 0.5); flat[#flat + 1] = who[k]
      end
      redis.call('ZADD', ek, unpack(flat))
      trim(ek)
    else
      local packed = addTop(topField, ek, who, ws)
      if packed then pout['g|'] = packed elseif topField then pout['g|'] = false end
    end
  end
  local flat = {}
  for f, x in pairs(pout) do if x then flat[#flat + 1] = f; flat[#flat + 1] = x end end
  if #flat > 0 then redis.call('HSET', dyk, unpack(flat)) end
  flat = {}
  for f, x in pairs(pout) do if not x then flat[#flat + 1] = f end end
  if #flat > 0 then redis.call('HDEL', dyk, unpack(flat)) end
  -- A time equal to the account's first sight (as it is after this delta) is left out (stampsKept).
  local firstNow, gone = tonumber(out.first or cur.first), {}
  for _, f in ipairs({ 'fts', 'nts' }) do
    if out[f] and tonumber(out[f]) == firstNow then
      out[f] = nil
      if cur[f] then gone[#gone + 1] = f end
    end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  flat = {}
  for f, x in pairs(out) do flat[#flat + 1] = f; flat[#flat + 1] = x end
  for topic, t in pairs(tout) do flat[#flat + 1] = 't:' .. topic; flat[#flat + 1] = packTopic(tcur[topic], t) end
  if #flat > 0 then redis.call('HSET', key, unpack(flat)) end
  mark(id)
  end
end
if scratch then
  redis.set_repl(redis.REPL_NONE)
  redis.call('DEL', S)
  redis.set_repl(redis.REPL_ALL)
end
-- Each marked account, and the entity that claims it, is dirty. Returns the entities that claim them.
local claiming = {}
for i = 1, #marks, 1000 do
  local ids = { unpack(marks, i, math.min(i + 999, #marks)) }
  local owners = redis.call('HMGET', B .. 'owner', unpack(ids))
  for k = 1, #ids do if owners[k] then ids[#ids + 1] = owners[k]; claiming[#claiming + 1] = owners[k] end end
  redis.call('SADD', KEYS[2], unpack(ids))
end
return claiming
`);

/**
 * TOP_ENGAGERS: KEYS = [evidence hash, top-engager set]; ARGV = [n]. An
 * account's n heaviest engagers, [handle, weight, ...] (weights in
 * ENGAGER_SCALE units), from the field 'g|' or, where it is not, the set.
 */
export const TOP_ENGAGERS = new Script(`
local n = tonumber(ARGV[1])
local v = redis.call('HGET', KEYS[1], 'g|')
if not v then return redis.call('ZRANGE', KEYS[2], 0, n - 1, 'REV', 'WITHSCORES') end
${ORDER_LUA}
local list, members, out = cmsgpack.unpack(v), {}, {}
for i = 1, #list, 2 do members[#members + 1] = { list[i], list[i + 1] } end
table.sort(members, heavierFirst)
for j = 1, math.min(#members, n) do out[#out + 1] = members[j][1]; out[#out + 1] = string.format('%.17g', members[j][2]) end
return out
`);
