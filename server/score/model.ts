/**
 * The scoring model, pure: no Redis, no clock. Events are folded into
 * per-account deltas (order-free: sums, maxima, minima and latest-by-time
 * snapshots), the deltas into stored state, and the state into a score.
 *
 * Decay is forward decay on event time (Cormode et al., ICDE 2009): an
 * engagement of weight w at time t adds w·2^((t−L)/H) to a sum once; the
 * value at time `now` is sum·2^(−(now−L)/H). Sums do not depend on arrival
 * order, so replays and reordered deliveries give the same state.
 * See docs/scoring.md for the formula and the reason for each weight.
 */
import type { EventType, NormalizedEvent } from '../../shared/event.js';
import { accountId } from '../../shared/event.js';

export interface ModelParams {
  /** Half-life of engagement, in ms of event time. */
  halfLifeMs: number;
  /** Forward-decay landmark L, epoch ms. */
  landmarkMs: number;
}

/** 2025-01-01T00:00:00Z: recent enough that 2^((t−L)/H) stays far from overflow for years. */
export const DEFAULT_LANDMARK_MS = Date.UTC(2025, 0, 1);
export const DAY_MS = 86_400_000;

export function modelParams(halfLifeDays: number, landmarkMs = DEFAULT_LANDMARK_MS): ModelParams {
  return { halfLifeMs: halfLifeDays * DAY_MS, landmarkMs };
}

/** Weight of one engagement received, by event type (see docs/scoring.md). */
export const ENGAGEMENT_WEIGHTS: Partial<Record<EventType, number>> = {
  like: 1,
  click: 1,
  mention: 2,
  reply: 3,
  endorse: 3,
  share: 4,
  conversion: 5,
};

/** Audience size that maps to a full reach component (10 million). */
export const REACH_FULL_LOG10 = 7;
/** Engagement is counted in units of this many like-equivalents... */
export const ENGAGEMENT_UNIT = 2;
/** ...and 10^4 units (20,000 decayed like-equivalents) make a full engagement component. */
export const ENGAGEMENT_FULL_LOG10 = 4;
export const COMPONENT_WEIGHTS = { reach: 0.25, engagement: 0.75 } as const;

/** Forward-decay factor of an event at `ts`. */
export function decayFactor(ts: number, p: ModelParams): number {
  return 2 ** ((ts - p.landmarkMs) / p.halfLifeMs);
}

/** A value stamped with event time; the latest wins, ties go to the larger value. */
export interface Stamped<T extends string | number> {
  value: T;
  ts: number;
}

/** What a group of events changes in one account. Every field combines without regard to order. */
export interface AccountDelta {
  id: string;
  /** Forward-decayed engagement sum to add. */
  eng: number;
  /** Follows minus unfollows. */
  follows: number;
  /** Latest event time at which the account was the subject (target, own profile or post); 0 if none. */
  last: number;
  /** Earliest event time the account appeared in. */
  first: number;
  followers?: Stamped<number>;
  name?: Stamped<string>;
  /** Events by type in which the account was the subject. */
  counts: Partial<Record<EventType, number>>;
}

function newDelta(id: string, ts: number): AccountDelta {
  return { id, eng: 0, follows: 0, last: 0, first: ts, counts: {} };
}

export function laterStamp<T extends string | number>(a: Stamped<T> | undefined, b: Stamped<T>): Stamped<T> {
  if (!a || b.ts > a.ts || (b.ts === a.ts && b.value > a.value)) return b;
  return a;
}

/** Folds events into per-account deltas. Self-engagement counts for nothing. */
export function aggregate(events: Iterable<NormalizedEvent>, p: ModelParams): Map<string, AccountDelta> {
  const out = new Map<string, AccountDelta>();
  const touch = (id: string, ts: number): AccountDelta => {
    let d = out.get(id);
    if (!d) out.set(id, (d = newDelta(id, ts)));
    else if (ts < d.first) d.first = ts;
    return d;
  };
  for (const e of events) {
    const actor = touch(accountId(e.network, e.actor), e.ts);
    if (e.type === 'profile') {
      subject(actor, e);
      if (e.followers !== undefined) actor.followers = laterStamp(actor.followers, { value: e.followers, ts: e.ts });
      if (e.name !== undefined) actor.name = laterStamp(actor.name, { value: e.name, ts: e.ts });
      continue;
    }
    if (e.type === 'post') {
      subject(actor, e);
      continue;
    }
    if (e.target === undefined || e.target === e.actor) continue;
    const target = touch(accountId(e.network, e.target), e.ts);
    subject(target, e);
    if (e.type === 'follow') target.follows += 1;
    else if (e.type === 'unfollow') target.follows -= 1;
    const w = ENGAGEMENT_WEIGHTS[e.type] ?? 0;
    if (w > 0) target.eng += w * decayFactor(e.ts, p);
  }
  return out;
}

function subject(d: AccountDelta, e: NormalizedEvent): void {
  if (e.ts > d.last) d.last = e.ts;
  d.counts[e.type] = (d.counts[e.type] ?? 0) + 1;
}

/** An account's stored state, as the apply returns it. */
export interface AccountState {
  eng: number;
  follows: number;
  last: number;
  first: number;
  followers: number;
}

export interface ScoreResult {
  /** 1–100, one decimal place. */
  score: number;
  components: { reach: number; engagement: number };
}

const clamp100 = (x: number) => Math.min(100, Math.max(0, x));
const round1 = (x: number) => Math.round(x * 10) / 10;

/** The score of an account at the time of its latest activity as a subject. */
export function scoreAccount(s: AccountState, p: ModelParams): ScoreResult {
  const audience = Math.max(0, s.followers + s.follows);
  const reach = clamp100((100 * Math.log10(1 + audience)) / REACH_FULL_LOG10);
  const now = s.last > 0 ? s.last : s.first;
  const engNow = s.eng > 0 ? s.eng / decayFactor(now, p) : 0;
  const engagement = clamp100((100 * Math.log10(1 + engNow / ENGAGEMENT_UNIT)) / ENGAGEMENT_FULL_LOG10);
  const blended = COMPONENT_WEIGHTS.reach * reach + COMPONENT_WEIGHTS.engagement * engagement;
  return {
    score: round1(1 + 0.99 * blended),
    components: { reach: round1(reach), engagement: round1(engagement) },
  };
}
