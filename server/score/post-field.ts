/**
 * A post's field in its author's evidence hash, `p|<post>`: the post's
 * engagement and amplification sums (forward-decayed, at β·H) and its
 * comma-joined topics. APPLY (`scripts.ts`) reads and writes it with
 * POST_LUA; `/explain` reads it with `readPostField` (`reads.ts`).
 *
 * Since 0.12.6 the value is binary: a first byte of flags (1: an engagement
 * sum follows, 2: an amplification sum follows), each sum present as 8 bytes
 * (an IEEE double, little-endian), then the topics. A sum of ~10^15 took 17
 * or 18 characters as text and takes 8 bytes here, and reads back as the
 * same double, as the text did: the scores do not change. Values written
 * before are text, `<e>|<a>|<topics>` ('' for a zero sum), and are read as
 * they are until their post's next change rewrites them: text starts with a
 * digit or '|', never with a byte below 4.
 */
export const POST_FLAG_E = 1;
export const POST_FLAG_A = 2;

export const POST_LUA = `
-- A post's field as its engagement sum, amplification sum and topics (POST_FLAG_E, POST_FLAG_A).
local function readPost(raw)
  local flags = string.byte(raw, 1)
  if flags and flags < 4 then
    local pos, e, a = 2, 0, 0
    if flags % 2 == 1 then e, pos = struct.unpack('<d', raw, pos) end
    if flags >= 2 then a, pos = struct.unpack('<d', raw, pos) end
    return e, a, string.sub(raw, pos)
  end
  -- Text, as written before 0.12.6.
  local i = string.find(raw, '|', 1, true)
  local j = string.find(raw, '|', i + 1, true)
  return tonumber(string.sub(raw, 1, i - 1)) or 0, tonumber(string.sub(raw, i + 1, j - 1)) or 0, string.sub(raw, j + 1)
end
local function writePost(e, a, topics)
  local flags, body = 0, ''
  if e ~= 0 then flags = 1; body = struct.pack('<d', e) end
  if a ~= 0 then flags = flags + 2; body = body .. struct.pack('<d', a) end
  return string.char(flags) .. body .. topics
end
`;

/** A post's field as its sums and topics, in either layout. */
export function readPostField(raw: Buffer): { e: number; a: number; topics: string } {
  const flags = raw[0];
  if (flags !== undefined && flags < 4) {
    let pos = 1;
    let e = 0;
    let a = 0;
    if (flags & POST_FLAG_E) {
      e = raw.readDoubleLE(pos);
      pos += 8;
    }
    if (flags & POST_FLAG_A) {
      a = raw.readDoubleLE(pos);
      pos += 8;
    }
    return { e, a, topics: raw.subarray(pos).toString('utf8') };
  }
  const [e = '', a = '', ...topics] = raw.toString('utf8').split('|');
  return { e: Number(e), a: Number(a), topics: topics.join('|') };
}
