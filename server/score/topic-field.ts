/**
 * Lua for a topic's state in the account hash, shared by APPLY (`scripts.ts`)
 * and the move of earlier versions' fields (`legacy.ts`); in Node,
 * `parseAccountFields` (`score.ts`) reads its counts. The field 't:<topic>' =
 * '<posts>|<days>|<engagers>|<endorsers>|<value>|<day>,<day>...' (tagged
 * posts, days with one, distinct engagers and endorsers, the forward-decayed
 * value of its engagement and endorsements, and the days with a tagged post,
 * counted from 1970, as a list or, where shorter, a bitmap (parseDays); a
 * zero is '', trailing empty parts are left out).
 */
export const TOPIC_LUA = `
-- A number as Redis writes one a script gives it (17 significant digits, so it reads back as the same
-- double; a whole one as an integer), '' for zero; a stored string as it is.
local function exact(x)
  if x == nil or x == 0 or x == '0' then return '' end
  if type(x) == 'string' then return x end
  if x == math.floor(x) and x > -1e14 and x < 1e14 then return x end
  return string.format('%.17g', x)
end
-- A topic's field as its six parts (strings, nil for zero or none).
local function parseTopic(v)
  local t, i = {}, 1
  for j = 1, 6 do
    local k = string.find(v, '|', i, true)
    local part
    if k then part = string.sub(v, i, k - 1) else part = string.sub(v, i) end
    if part ~= '' then t[j] = part end
    if not k then break end
    i = k + 1
  end
  return t
end
-- A topic's days with a tagged post (its sixth part), as a list of day numbers: written as '<day>,<day>...'
-- or, where that is shorter, as '<first day>.<bits>', six days a character (DAY_CHARS; bit b of character
-- i set: day first + 6 (i - 1) + b), so that a topic tagged daily for a year takes ~70 bytes, not ~2,200,
-- and the account hash stays a listpack (a value of more than 512 bytes would turn it into a hashtable).
local DAY_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_'
local DAY_VALUE = {}
for i = 1, 64 do DAY_VALUE[string.byte(DAY_CHARS, i)] = i - 1 end
local function parseDays(v)
  local out = {}
  if not v or v == '' then return out end
  local dot = string.find(v, '.', 1, true)
  if not dot then
    for d in string.gmatch(v, '%d+') do out[#out + 1] = tonumber(d) end
    return out
  end
  local first = tonumber(string.sub(v, 1, dot - 1))
  for i = dot + 1, #v do
    local x, day = DAY_VALUE[string.byte(v, i)] or 0, first + (i - dot - 1) * 6
    for b = 0, 5 do
      if x % 2 == 1 then out[#out + 1] = day + b end
      x = math.floor(x / 2)
    end
  end
  return out
end
local function packDays(days)
  if #days == 0 then return '' end
  local lo, hi, listed = days[1], days[1], {}
  for i, d in ipairs(days) do
    if d < lo then lo = d end
    if d > hi then hi = d end
    listed[i] = string.format('%d', d)
  end
  local list = table.concat(listed, ',')
  local width = math.floor((hi - lo) / 6) + 1
  local head = string.format('%d', lo) .. '.'
  -- The list where it is no longer (few days, or days far apart).
  if #head + width >= #list then return list end
  local v = {}
  for i = 1, width do v[i] = 0 end
  for _, d in ipairs(days) do
    local i = math.floor((d - lo) / 6) + 1
    v[i] = v[i] + 2 ^ ((d - lo) % 6)
  end
  for i = 1, width do v[i] = string.sub(DAY_CHARS, v[i] + 1, v[i] + 1) end
  return head .. table.concat(v)
end
-- A topic's field from its parts: each from 'new' (numbers or strings) where set, else from 'old'.
local function packTopic(old, new)
  local a, b, c, d, e = exact(new[1] or old[1]), exact(new[2] or old[2]), exact(new[3] or old[3]), exact(new[4] or old[4]), exact(new[5] or old[5])
  local f = new[6] or old[6] or ''
  if f ~= '' then return a .. '|' .. b .. '|' .. c .. '|' .. d .. '|' .. e .. '|' .. f end
  if e ~= '' then return a .. '|' .. b .. '|' .. c .. '|' .. d .. '|' .. e end
  if d ~= '' then return a .. '|' .. b .. '|' .. c .. '|' .. d end
  if c ~= '' then return a .. '|' .. b .. '|' .. c end
  if b ~= '' then return a .. '|' .. b end
  return a
end
`;
