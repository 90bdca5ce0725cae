/**
 * The ingest path every producer takes (HTTP, WebSocket, the demo simulator):
 * parse a body (`readEvents`), validate each event, then in one atomic script
 * per chunk drop the ids seen inside the deduplication window and append the
 * rest to the stream. The result is returned only once the accepted events
 * are in the stream. With INGEST_THREADS, the endpoints' bodies take this path
 * in intake threads (`threads.ts`), each with an ingest of its own.
 *
 * Deduplication remembers `network|id` in two time buckets of `windowSec`
 * (the current and the previous one), so an id is recognised for at least
 * `windowSec` and at most twice that; each bucket expires by itself.
 */
import type { IngestResult, Rejection } from '../../shared/api.js';
import { accountId, MAX_EVENTS_PER_REQUEST, type NormalizedEvent } from '../../shared/event.js';
import { validateEvent } from '../../shared/validate.js';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { Script } from '../infra/script.js';
import { errors, storeError } from '../errors.js';

/**
 * KEYS = [stream, dedupe bucket now, dedupe bucket before];
 * ARGV = [ttl, key base, then per event: dedupe id, event JSON, actor account id].
 * Each appended entry carries `q`, the actor's own score now (field `s` of
 * its account hash), so that the weight of its engagement is fixed in the log
 * and a replay reproduces it, and `f`, the actor's first sight as stored now
 * ('' for a new actor), which spares the scorer a read for every actor it
 * already knows (see StreamEvent).
 */
export const APPEND = new Script(`
local ids = {}
for i = 3, #ARGV, 3 do ids[#ids + 1] = ARGV[i] end
-- Both buckets asked once for the whole chunk; an id twice in the chunk counts once.
local before = redis.call('SMISMEMBER', KEYS[3], unpack(ids))
local now = redis.call('SMISMEMBER', KEYS[2], unpack(ids))
local seen, new = {}, {}
local accepted, duplicates = 0, 0
for k, id in ipairs(ids) do
  if before[k] == 1 or now[k] == 1 or seen[id] then
    duplicates = duplicates + 1
  else
    seen[id] = true
    new[#new + 1] = id
    local i = 3 * k
    local a = redis.call('HMGET', ARGV[2] .. 'a:' .. ARGV[i + 2], 's', 'first')
    redis.call('XADD', KEYS[1], '*', 'e', ARGV[i + 1], 'q', a[1] or '1', 'f', a[2] or '')
    accepted = accepted + 1
  end
end
if #new > 0 then
  redis.call('SADD', KEYS[2], unpack(new))
  redis.call('EXPIRE', KEYS[2], ARGV[1], 'NX')
end
return { accepted, duplicates }
`);

/** Events per script call: keeps each call short so Redis stays responsive. */
export const CHUNK = 500;

export interface IngestStats {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/**
 * How a body holds its events: `json` one event or an array (a request with
 * `application/json`), `ndjson` one per line, `frame` a WebSocket frame
 * (a whole JSON value if it parses, else NDJSON lines).
 */
export type BodyFormat = 'json' | 'ndjson' | 'frame';

/** Where bodies of events are validated and made durable: this thread (`Ingest`), or intake threads (`threads.ts`). */
export interface Intake {
  /** Parses, validates and makes durable; throws AppErrors (an empty request, too many events, 503s). */
  ingestText(format: BodyFormat, text: string): Promise<IngestResult>;
}

export interface Ingest extends Intake {
  /** Validates and makes durable; `items` are parsed JSON values, or UnparsableItems for lines that did not parse. */
  ingest(items: readonly unknown[]): Promise<IngestResult>;
  /**
   * Throws the 503 (`unavailable`, with Retry-After) while scoring is more
   * than `maxLag` events behind. Cheap (the lag is read at most every 200 ms),
   * so callers ask before parsing a body: refused work costs nothing.
   */
  ensureCapacity(): Promise<void>;
  stats: IngestStats;
}

/** Adds what one body came to to the counters (the metrics' accepted, duplicate and rejected totals). */
export function countResult(stats: IngestStats, r: IngestResult): void {
  stats.accepted += r.accepted;
  stats.duplicates += r.duplicates;
  stats.rejected += r.rejected.length;
}

export class UnparsableItem {
  constructor(readonly message: string) {}
}

/** Splits an NDJSON body into parsed values; a line that does not parse becomes an UnparsableItem. */
export function parseNdjson(body: string): unknown[] {
  const out: unknown[] = [];
  for (const line of body.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    try {
      out.push(JSON.parse(text));
    } catch (err) {
      out.push(new UnparsableItem(`line is not valid JSON: ${(err as Error).message}`));
    }
  }
  return out;
}

/** A JSON body: one event or an array of events. */
export function parseJsonBody(body: string): unknown[] {
  if (body.trim() === '') throw errors.emptyBody();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
  return Array.isArray(value) ? value : [value];
}

/** A frame's events: a whole JSON value (one event or an array) if it parses, else NDJSON lines. */
export function parseFrame(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    const v: unknown = JSON.parse(trimmed);
    return Array.isArray(v) ? v : [v];
  } catch {
    return parseNdjson(text);
  }
}

/**
 * A body's events, parsed. A request must hold at least one event; a
 * request or a frame at most MAX_EVENTS_PER_REQUEST (an empty frame is
 * answered with an ack of nothing).
 */
export function readEvents(format: BodyFormat, text: string): unknown[] {
  const items = format === 'json' ? parseJsonBody(text) : format === 'ndjson' ? parseNdjson(text) : parseFrame(text);
  if (items.length === 0 && format !== 'frame') throw errors.emptyBody();
  if (items.length > MAX_EVENTS_PER_REQUEST) throw errors.tooManyEvents(items.length, MAX_EVENTS_PER_REQUEST, format === 'frame' ? 'frame' : 'request');
  return items;
}

export interface IngestOptions {
  windowSec: number;
  /**
   * Above this many entries not yet scored (appended but not delivered, or
   * delivered and not acknowledged), ingest answers 503 with Retry-After
   * rather than let the scorers fall behind without bound.
   */
  maxLag?: number;
  clock?: () => number;
}

/** How far behind the scorers are, read at most every 200 ms. */
function lagProbe(redis: RedisClient, keys: Keys): () => Promise<number> {
  let value = 0;
  let at = 0;
  let pending: Promise<number> | null = null;
  return () => {
    if (Date.now() - at < 200) return Promise.resolve(value);
    pending ??= Promise.all([redis.xInfoGroups(keys.stream).catch(() => []), redis.xLen(keys.stream)])
      .then(([groups, length]) => {
        const g = groups.find((x) => x.name === keys.group);
        // No group yet: no scorer has read anything. No lag figure (after deletions): count from what was read.
        const notRead = !g ? length : g.lag != null ? Number(g.lag) : Math.max(0, length - Number(g['entries-read'] ?? 0));
        value = notRead + Number(g?.pending ?? 0);
        return value;
      })
      .catch(() => value)
      .finally(() => {
        at = Date.now();
        pending = null;
      });
    return pending;
  };
}

export function createIngest(redis: RedisClient, keys: Keys, options: IngestOptions): Ingest {
  const { windowSec, maxLag = Infinity, clock = Date.now } = options;
  const lag = lagProbe(redis, keys);
  const stats: IngestStats = { accepted: 0, duplicates: 0, rejected: 0 };

  async function ensureCapacity(): Promise<void> {
    // While the connection is down (Redis restarting, unreachable), say so at once rather than queue the request.
    if (!redis.isReady) throw errors.storeUnavailable();
    if (!Number.isFinite(maxLag)) return;
    const behind = await lag().catch((err: unknown) => {
      throw storeError(err) ?? err;
    });
    if (behind > maxLag) throw errors.unavailable(`scoring is ${behind} events behind; send again shortly`, 1);
  }

  async function append(events: NormalizedEvent[], now: number): Promise<[number, number]> {
    const bucket = Math.floor(now / 1000 / windowSec);
    const keyList = [keys.stream, keys.dedupe(bucket), keys.dedupe(bucket - 1)];
    const ttl = String(windowSec * 2 + 60);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < events.length; i += CHUNK) {
      const args: string[] = [ttl, keys.base];
      for (const e of events.slice(i, i + CHUNK)) args.push(`${e.network}|${e.id}`, JSON.stringify(e), accountId(e.network, e.actor));
      calls.push(APPEND.run(redis, keyList, args));
    }
    let accepted = 0;
    let duplicates = 0;
    for (const r of (await Promise.all(calls)) as [number, number][]) {
      accepted += r[0];
      duplicates += r[1];
    }
    return [accepted, duplicates];
  }

  async function ingest(items: readonly unknown[]): Promise<IngestResult> {
    const now = clock();
    const rejected: Rejection[] = [];
    const valid: NormalizedEvent[] = [];
    items.forEach((item, index) => {
      if (item instanceof UnparsableItem) {
        rejected.push({ index, code: 'invalid_json', message: item.message });
        return;
      }
      const r = validateEvent(item, now);
      if (r.ok) valid.push(r.event);
      else rejected.push({ index, code: r.code, message: r.message });
    });
    let appended: [number, number] = [0, 0];
    if (valid.length > 0) {
      await ensureCapacity();
      try {
        appended = await append(valid, now);
      } catch (err) {
        throw storeError(err) ?? err;
      }
    }
    const [accepted, duplicates] = appended;
    const result = { accepted, duplicates, rejected };
    countResult(stats, result);
    return result;
  }

  return {
    stats,
    ensureCapacity,
    ingest,
    ingestText: async (format, text) => ingest(readEvents(format, text)),
  };
}
