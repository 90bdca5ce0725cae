/**
 * The stream as an Observable of raw entries for one consumer of the group:
 * first the entries left pending by an earlier run (XAUTOCLAIM), then new ones
 * (XREADGROUP, blocking). Reading pauses while more than `maxInFlight` entries
 * are read but not yet released, so a slow apply never lets memory grow.
 */
import { Observable } from 'rxjs';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import type { RawEntry } from './operators.js';

export interface StreamSourceOptions {
  consumer: string;
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
      // Entries delivered to an earlier run and never acknowledged: claim them first, in stream order.
      let cursor = '0-0';
      do {
        await capacity();
        const r = await reader.xAutoClaim(keys.stream, keys.group, opts.consumer, 0, cursor, { COUNT: opts.count });
        cursor = r.nextId;
        emit(toRaw(r.messages as Message[]));
        if (r.deletedMessages.length > 0) await reader.xAck(keys.stream, keys.group, r.deletedMessages);
      } while (cursor !== '0-0' && !stopped);
      while (!stopped) {
        await capacity();
        if (stopped) break;
        const res = await reader.xReadGroup(keys.group, opts.consumer, { key: keys.stream, id: '>' }, { COUNT: opts.count, BLOCK: opts.blockMs });
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
