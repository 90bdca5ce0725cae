/**
 * Live channels: which channels a batch of score changes touches, per-channel
 * coalescing (at most MAX_UPDATES_PER_SECOND, fewer while the process is
 * saturated: `pace.ts`; latest state wins), sequence
 * numbers, and one `send` to every transport. The hub knows score changes,
 * not how they were computed; the state it sends is read when it sends,
 * unless the change came with it (an entity's state as the score write
 * stored it).
 */
import { concatMap, debounceTime, from, groupBy, mergeMap, Observable, throttle, timer, asyncScheduler, type SchedulerLike, type Subscription, type OperatorFunction } from 'rxjs';
import { parseChannel, type TickerItem } from '../../shared/live.js';
import { MIN_INTERVAL_MS } from './pace.js';

/** What the hub needs to know of a change. */
export interface Change {
  id: string;
  score: number;
  prev: number | null;
  /** The entity's state as the change stored it, when known: its channel sends that rather than reading it. */
  entity?: unknown;
}

/** Reads the current state of a channel. */
export interface ChannelState {
  entity(id: string): Promise<unknown>;
  leaderboard(scope: string, limit: number): Promise<unknown>;
  names(ids: string[]): Promise<(string | null)[]>;
}

/** A way of delivering to clients (socket.io rooms, plain WebSocket subscribers). */
export interface Transport {
  /** How many local clients are subscribed to the channel. */
  count(channel: string): number;
  /** Channels with at least one local subscriber. */
  channels(): Iterable<string>;
  send(channel: string, seq: number, data: unknown): void;
}

/** A channel's coalescing group ends after this long without changes, so idle channels hold no timers. */
const GROUP_IDLE_MS = 10_000;
const TICKER_RECENT = 20;

/**
 * The channels a batch of changes makes stale; each at most once. Any
 * leaderboard may have moved, so every leaderboard channel someone watches is
 * included (coalescing keeps that cheap).
 */
export function channelsOf(changes: readonly Change[], watchedLeaderboards: Iterable<string> = []): string[] {
  if (changes.length === 0) return [];
  const out = new Set<string>();
  for (const c of changes) out.add(`entity:${c.id}`);
  out.add('leaderboard:global');
  for (const ch of watchedLeaderboards) out.add(ch);
  out.add('ticker');
  return [...out];
}

/**
 * Per channel: the first change goes at once, later ones at most every
 * `intervalMs` (a number, or read at each publish: see `pace.ts`) with the
 * latest winning; a channel's group closes when idle.
 */
export function coalescePerChannel(intervalMs: number | (() => number), scheduler: SchedulerLike = asyncScheduler, idleMs = GROUP_IDLE_MS): OperatorFunction<string, string> {
  const interval = typeof intervalMs === 'number' ? () => intervalMs : intervalMs;
  return (source) =>
    source.pipe(
      groupBy((ch) => ch, { duration: (g) => g.pipe(debounceTime(idleMs, scheduler)) }),
      mergeMap((g) => g.pipe(throttle(() => timer(interval(), scheduler), { leading: true, trailing: true }))),
    );
}

/** What a subscriber sees of a board: its rows and total (its `updatedAt` moves with every event). */
function boardRows(data: unknown): string {
  const { entries, total } = (data ?? {}) as { entries?: unknown; total?: unknown };
  return JSON.stringify([entries, total]);
}

export class LiveHub {
  private readonly transports: Transport[] = [];
  private readonly seqs = new Map<string, number>();
  private readonly tickerPending = new Map<string, Change>();
  private readonly tickerRecent: TickerItem[] = [];
  /** Per leaderboard channel, its rows and total as last sent: a board whose rows did not move sends nothing. */
  private readonly boardsSent = new Map<string, string>();
  /** Per entity channel, the state the latest change stored, when it came with one: sent without a read. */
  private readonly entityStates = new Map<string, unknown>();
  private sub: Subscription | null = null;

  constructor(
    private readonly state: ChannelState,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly scheduler: SchedulerLike = asyncScheduler,
    /** The least time between two publishes of a channel, read at each publish (`PublishPace`). */
    private readonly interval: () => number = () => MIN_INTERVAL_MS,
  ) {}

  addTransport(t: Transport): void {
    this.transports.push(t);
  }

  /** Starts publishing the channels that `changes$` makes stale. */
  start(changes$: Observable<Change[]>): void {
    this.sub = changes$
      .pipe(
        mergeMap((batch) => {
          for (const c of batch) {
            this.tickerPending.set(c.id, c);
            // The latest change wins: one without a state (a decay sweep's, an admin change's) leaves the channel to read.
            const ch = `entity:${c.id}`;
            if (c.entity !== undefined && this.subscribers(ch) > 0) this.entityStates.set(ch, c.entity);
            else this.entityStates.delete(ch);
          }
          return from(channelsOf(batch, this.watchedLeaderboards()).filter((ch) => this.subscribers(ch) > 0 || ch === 'ticker'));
        }),
        coalescePerChannel(this.interval, this.scheduler),
        groupBy((ch) => ch),
        // One publish at a time per channel keeps its updates in order.
        mergeMap((g) => g.pipe(concatMap((ch) => from(this.publish(ch))))),
      )
      .subscribe();
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private watchedLeaderboards(): Set<string> {
    const out = new Set<string>();
    for (const t of this.transports) for (const ch of t.channels()) if (ch.startsWith('leaderboard:')) out.add(ch);
    return out;
  }

  subscribers(channel: string): number {
    return this.transports.reduce((n, t) => n + t.count(channel), 0);
  }

  /** The current state and sequence number of a channel, for a new subscriber. */
  async snapshot(channel: string): Promise<{ seq: number; data: unknown }> {
    const seq = this.seqs.get(channel) ?? 0;
    const data = await this.read(channel, false);
    if (channel.startsWith('leaderboard:')) {
      // The board's first subscriber holds what was last "sent"; a later one holding other rows gets the next publish whatever it shows.
      const rows = boardRows(data);
      const sent = this.boardsSent.get(channel);
      if (sent === undefined) this.boardsSent.set(channel, rows);
      else if (sent !== rows) this.boardsSent.delete(channel);
    }
    return { seq, data };
  }

  private async read(channel: string, publishing: boolean): Promise<unknown> {
    const c = parseChannel(channel);
    if (!c) throw new Error(`not a channel: ${channel}`);
    if (c.kind === 'entity') {
      // A publish sends the state its change stored, once; a new subscriber's snapshot reads.
      const stored = publishing ? this.entityStates.get(channel) : undefined;
      if (stored === undefined) return this.state.entity(c.id);
      this.entityStates.delete(channel);
      return stored;
    }
    if (c.kind === 'leaderboard') return this.state.leaderboard(c.scope, c.limit);
    if (!publishing) return { items: [...this.tickerRecent] };
    const pending = [...this.tickerPending.values()].slice(-TICKER_RECENT);
    this.tickerPending.clear();
    const names = await this.state.names(pending.map((p) => p.id));
    const items = pending.map((p, i) => ({
      id: p.id,
      name: names[i] ?? p.id,
      score: p.score,
      delta: p.prev === null ? 0 : Math.round((p.score - p.prev) * 10) / 10,
    }));
    this.tickerRecent.push(...items);
    this.tickerRecent.splice(0, Math.max(0, this.tickerRecent.length - TICKER_RECENT));
    return { items };
  }

  private async publish(channel: string): Promise<void> {
    try {
      const data = await this.read(channel, true);
      if (channel !== 'ticker' && this.subscribers(channel) === 0) {
        this.boardsSent.delete(channel);
        return;
      }
      if (channel.startsWith('leaderboard:')) {
        // Any score change makes every watched board stale; most move nothing in their top N.
        const rows = boardRows(data);
        if (this.boardsSent.get(channel) === rows) return;
        this.boardsSent.set(channel, rows);
      }
      const seq = (this.seqs.get(channel) ?? 0) + 1;
      this.seqs.set(channel, seq);
      for (const t of this.transports) if (t.count(channel) > 0) t.send(channel, seq, data);
    } catch (err) {
      this.onError(err);
    }
  }
}
