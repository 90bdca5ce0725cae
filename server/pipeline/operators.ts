/**
 * The pipeline's pure stages, each an OperatorFunction tested with marble
 * diagrams: decode stream entries, cut them into micro-batches bounded by size
 * and time, and fold a batch into per-account deltas.
 */
import { bufferTime, filter, map, type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import { aggregate, type AccountDelta, type StreamEvent } from '../score/aggregate.js';
import type { ModelParams } from '../score/model.js';
import { TEXT_FIELDS, wellFormed } from '../../shared/event.js';

/**
 * A raw stream entry: its id, the JSON of its `e` field, its `q` field (the
 * actor's score at ingest) and its `f` field (the actor's first sight as
 * stored at ingest; empty if the actor was new).
 */
export interface RawEntry {
  id: string;
  json: string;
  q?: string;
  f?: string;
}

/** A decoded entry; `event` is null for an entry that cannot be read (it is acknowledged and skipped). */
export interface DecodedEntry {
  id: string;
  event: StreamEvent | null;
}

export interface Batch {
  /** Ids of every entry, in stream order, to acknowledge after the apply. */
  ids: string[];
  /** First and last stream id of the batch. */
  first: string;
  last: string;
  /** Events that decoded. */
  events: StreamEvent[];
}

export interface AggregatedBatch extends Omit<Batch, 'events'> {
  deltas: Map<string, AccountDelta>;
  events: number;
  /** Latest event time in the batch (0 if none): moves the score clock. */
  clock: number;
}

function repairText(event: StreamEvent): void {
  const e = event as unknown as Record<string, unknown>;
  for (const field of TEXT_FIELDS) {
    const v = e[field];
    if (typeof v === 'string') e[field] = wellFormed(v);
    else if (Array.isArray(v)) e[field] = v.map((t: unknown) => (typeof t === 'string' ? wellFormed(t) : t));
  }
}

/**
 * Decodes one entry; an entry that cannot be read gets a null event. Ingest
 * refuses strings that are not well-formed Unicode since 0.11.1; one that an
 * earlier version let into the log has each lone surrogate replaced by
 * U+FFFD (as Redis stored its keys), since the scripts cannot decode it. Only
 * entries whose JSON holds an escaped surrogate are looked at.
 */
export function decodeEntry({ id, json, q, f }: RawEntry): DecodedEntry {
  try {
    const event = JSON.parse(json) as StreamEvent;
    if (typeof event !== 'object' || event === null) return { id, event: null };
    if (json.includes('\\ud') || json.includes('\\uD')) repairText(event);
    if (q !== undefined && Number.isFinite(Number(q))) event.q = Number(q);
    if (f) {
      const first = Number(f);
      if (Number.isFinite(first)) event.f = first;
    }
    return { id, event };
  } catch {
    return { id, event: null };
  }
}

export function decodeEntries(): OperatorFunction<RawEntry, DecodedEntry> {
  return map(decodeEntry);
}

/** Emits a batch when `maxSize` entries have arrived or `maxWaitMs` has passed with at least one. */
export function microBatch(maxSize: number, maxWaitMs: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<DecodedEntry, Batch> {
  return (source) =>
    source.pipe(
      bufferTime(maxWaitMs, null, maxSize, scheduler),
      filter((entries) => entries.length > 0),
      map((entries) => ({
        ids: entries.map((e) => e.id),
        first: entries[0]!.id,
        last: entries[entries.length - 1]!.id,
        events: entries.flatMap((e) => (e.event ? [e.event] : [])),
      })),
    );
}

/** Folds a batch into per-account deltas. */
export function aggregateBatch(b: Batch, params: ModelParams): AggregatedBatch {
  return {
    ids: b.ids,
    first: b.first,
    last: b.last,
    events: b.events.length,
    clock: b.events.reduce((m, e) => Math.max(m, e.ts), 0),
    deltas: aggregate(b.events, params),
  };
}

export function aggregateBatches(params: ModelParams): OperatorFunction<Batch, AggregatedBatch> {
  return map((b) => aggregateBatch(b, params));
}

/** Orders two decimal numbers written without leading zeros (as Redis writes them), of any size. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders stream ids ("ms-seq"): negative when a < b. The empty id sorts
 * first. By length then characters, without BigInt (called for every entry).
 */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const ad = a.indexOf('-');
  const bd = b.indexOf('-');
  const am = ad < 0 ? a : a.slice(0, ad);
  const bm = bd < 0 ? b : b.slice(0, bd);
  return compareDigits(am, bm) || compareDigits(ad < 0 ? '0' : a.slice(ad + 1), bd < 0 ? '0' : b.slice(bd + 1));
}

/** Blanks the events of entries already applied (at or below the watermark): they are only acknowledged again. */
export function skipApplied(watermark: () => string): OperatorFunction<DecodedEntry, DecodedEntry> {
  return map((e) => (e.event && compareStreamIds(e.id, watermark()) <= 0 ? { id: e.id, event: null } : e));
}
