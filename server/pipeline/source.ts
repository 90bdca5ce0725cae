/**
 * The stream as an Observable of raw entries for the one scorer of the group:
 * first the entries after the watermark that the group has already delivered
 * (read by a run that stopped or died before applying them: XRANGE), then new
 * ones (XREADGROUP NOACK, blocking). Reading pauses while more than
 * `maxInFlight` entries are read but not yet released, so a slow apply never
 * lets memory grow.
 *
 * Why NOACK: the watermark (the last id applied, set atomically with the
 * apply) already says what is scored, so the group's pending list would only
 * repeat it, at a cost: Redis adds every delivered entry to that list and
 * writes an XCLAIM for it into the AOF (~209 bytes and ~1.8 µs of Redis CPU
 * per event, `bench/stream-read.ts`), and the XACK that clears it is another
 * round trip per batch. With NOACK a read only moves the group's last
 * delivered id (one XGROUP SETID in the AOF per read), and a restart reads
 * again from the watermark.
 */
import { Observable } from 'rxjs';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import type { RawEntry } from './operators.js';

export interface StreamSourceOptions {
  consumer: string;
  /** The watermark: the last id applied ('' for none). Entries after it that the group delivered earlier are read first. */
  after: string;
  count: number;
  blockMs: number;
  maxInFlight: number;
}

export interface StreamSource {
  entries$: Observable<RawEntry>;
  /** Gives back capacity once entries are applied and acknowledged. */
  release(n: number): void;
  /** Entries read and not yet released: 0 when the stream has nothing more for now. */
  pending(): number;
}

type Message = { id: string; message: Record<string, string> } | null;

function toRaw(messages: Message[]): RawEntry[] {
  const out: RawEntry[] = [];
  for (const m of messages) if (m) out.push({ id: m.id, json: m.message.e ?? '', q: m.message.q, f: m.message.f });
  return out;
}

/**
 * Acknowledges every entry an earlier version left in the group's pending
 * list (it read without NOACK): those past the watermark are read again from
 * the stream, and those before it are applied. Returns how many.
 */
export async function clearPendingList(redis: RedisClient, keys: Keys): Promise<number> {
  let n = 0;
  for (;;) {
    const pending = await redis.xPendingRange(keys.stream, keys.group, '-', '+', 1000);
    if (pending.length === 0) return n;
    n += await redis.xAck(keys.stream, keys.group, pending.map((p) => p.id));
  }
}

/**
 * Deletes the group's consumers that are not `self`, hold no pending entries
 * and have been idle for `idleMs`: every process start names a consumer of
 * its own, and reading with NOACK they never hold anything, so without this
 * the group would keep one per start for ever. Returns how many.
 */
export async function dropIdleConsumers(redis: RedisClient, keys: Keys, self: string, idleMs = 60_000): Promise<number> {
  const consumers = await redis.xInfoConsumers(keys.stream, keys.group);
  let n = 0;
  for (const c of consumers) {
    if (c.name === self || Number(c.pending) > 0 || Number(c.idle) < idleMs) continue;
    await redis.xGroupDelConsumer(keys.stream, keys.group, String(c.name));
    n++;
  }
  return n;
}

/** The id of the last entry the group has delivered ('0-0' for none). */
async function lastDelivered(redis: RedisClient, keys: Keys): Promise<string> {
  const groups = await redis.xInfoGroups(keys.stream);
  const g = groups.find((x) => x.name === keys.group);
  return String(g?.['last-delivered-id'] ?? '0-0');
}

/** Creates the group (and the stream) if missing. */
export async function ensureGroup(redis: RedisClient, keys: Keys): Promise<void> {
  try {
    await redis.xGroupCreate(keys.stream, keys.group, '0', { MKSTREAM: true });
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
  }
}

export function streamSource(reader: RedisClient, keys: Keys, opts: StreamSourceOptions): StreamSource {
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const release = (n: number) => {
    inFlight -= n;
    if (wake && inFlight < opts.maxInFlight) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const capacity = () => (inFlight < opts.maxInFlight ? Promise.resolve() : new Promise<void>((ok) => (wake = ok)));

  const entries$ = new Observable<RawEntry>((sub) => {
    let stopped = false;
    const emit = (raw: RawEntry[]) => {
      inFlight += raw.length;
      for (const r of raw) sub.next(r);
    };
    (async () => {
      // Entries the group delivered to an earlier run that never applied them: read again first, in stream order.
      const until = await lastDelivered(reader, keys);
      let from = opts.after === '' ? '-' : `(${opts.after}`;
      while (!stopped) {
        await capacity();
        if (stopped) break;
        const r = (await reader.xRange(keys.stream, from, until, { COUNT: opts.count })) as Message[];
        emit(toRaw(r));
        if (r.length < opts.count) break;
        from = `(${r[r.length - 1]!.id}`;
      }
      while (!stopped) {
        await capacity();
        if (stopped) break;
        const res = await reader.xReadGroup(keys.group, opts.consumer, { key: keys.stream, id: '>' }, { COUNT: opts.count, BLOCK: opts.blockMs, NOACK: true });
        if (stopped) break;
        if (res) for (const s of res as { messages: Message[] }[]) emit(toRaw(s.messages));
      }
    })().then(
      () => sub.complete(),
      (err) => {
        if (!stopped) sub.error(err);
      },
    );
    return () => {
      stopped = true;
      wake?.();
    };
  });
  return { entries$, release, pending: () => inFlight };
}
