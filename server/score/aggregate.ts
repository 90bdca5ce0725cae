/**
 * Folds a batch of events into one delta per account, pure. Every field of a
 * delta combines with the stored state without regard to order (sums, sets,
 * minima, maxima, latest-by-time snapshots), which is what lets the pipeline
 * cut the stream into batches anywhere and still reach the same state.
 */
import { accountId, type NormalizedEvent } from '../../shared/event.js';
import {
  actorQuality,
  AMPLIFICATION_WEIGHTS,
  CLICK_WEIGHT,
  conversionWeight,
  dayOf,
  DAY_MS,
  ENDORSEMENT_WEIGHT,
  ENGAGEMENT_WEIGHTS,
  growth,
  POST_CONCAVITY,
  type ModelParams,
} from './model.js';

/**
 * An event as the stream holds it: `q` is the actor's own score when the
 * event was ingested, `f` the actor's first sight as stored then (absent for
 * an actor not seen before). `first` only ever moves earlier, so `f` is an
 * upper bound of the stored value whenever the event is applied, live or in
 * a rebuild (which has applied every earlier entry by then).
 */
export type StreamEvent = NormalizedEvent & { q?: number; f?: number };

/** A value stamped with event time; the latest wins, ties go to the larger value. */
export interface Stamped<T extends string | number> {
  value: T;
  ts: number;
}

export function laterStamp<T extends string | number>(a: Stamped<T> | undefined, b: Stamped<T>): Stamped<T> {
  if (!a || b.ts > a.ts || (b.ts === a.ts && b.value > a.value)) return b;
  return a;
}

/** Engagement received on one post (or, under NO_POST, without one). */
export interface PostDelta {
  /** Engagement weight, forward-decayed at β·H (the post's value is its sum to the power β). */
  e: number;
  /** Amplification weight, likewise. */
  a: number;
  /** All of it at half-life H, for the post's topics. */
  w: number;
  /** Distinct engagers, for the topics' evidence. */
  engagers: string[];
}

export interface EndorsementDelta {
  /** `day|topic|endorser`: counted once per target, topic and day. */
  key: string;
  topic: string;
  endorser: string;
  /** Weight at half-life H, stamped at the start of its day so that which endorsement of the day came first does not matter. */
  w: number;
}

export interface AccountDelta {
  id: string;
  first: number;
  /** Latest event time at which the account was the subject; 0 if none. */
  last: number;
  followers?: Stamped<number>;
  name?: Stamped<string>;
  follows: number;
  posts: Record<string, PostDelta>;
  /** Topics of posts this account authored in the batch. */
  postTopics: Record<string, string[]>;
  /** Tagged content authored: per topic, how many posts and on which days. */
  authored: Record<string, { posts: number; days: number[] }>;
  /** Clicks and conversions, at half-life H. */
  outcomes: number;
  endorsements: EndorsementDelta[];
  /** Engagement events received (not self), for the diversity factor. */
  received: number;
  engagers: string[];
  /** Weight each engager contributed, at half-life H (for /explain). */
  engagerWeights: Record<string, number>;
  /**
   * The earliest `f` stamped on events this account acted in: the store's
   * first sight of it is at most this, so a delta that only says "seen at
   * `first`" changes nothing when `first` is not earlier.
   */
  knownFirst?: number;
}

/** Engagement without a post id is pooled under this key. */
export const NO_POST = '-';

/**
 * A map keyed by what producers send (post ids, handles): an object without a
 * prototype, so that an id such as `__proto__` is a key like any other (on a
 * plain object it would be its prototype, and one event could stop the
 * scorer for good). It goes to APPLY as JSON like any object.
 */
function byKey<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function newDelta(id: string, ts: number): AccountDelta {
  return {
    id,
    first: ts,
    last: 0,
    follows: 0,
    posts: byKey(),
    postTopics: byKey(),
    authored: byKey(),
    outcomes: 0,
    endorsements: [],
    received: 0,
    engagers: [],
    engagerWeights: byKey(),
  };
}

export function aggregate(events: Iterable<StreamEvent>, p: ModelParams): Map<string, AccountDelta> {
  const out = new Map<string, AccountDelta>();
  const engagerSets = new Map<string, Set<string>>();
  const postEngagers = new Map<string, Set<string>>();
  const postH = POST_CONCAVITY * p.halfLifeMs;

  const touch = (id: string, ts: number): AccountDelta => {
    let d = out.get(id);
    if (!d) out.set(id, (d = newDelta(id, ts)));
    else if (ts < d.first) d.first = ts;
    return d;
  };
  const subject = (d: AccountDelta, e: StreamEvent) => {
    if (e.ts > d.last) d.last = e.ts;
  };
  const author = (d: AccountDelta, e: StreamEvent) => {
    if (!e.topics?.length) return;
    const day = dayOf(e.ts);
    for (const t of e.topics) {
      const a = (d.authored[t] ??= { posts: 0, days: [] });
      a.posts += 1;
      if (!a.days.includes(day)) a.days.push(day);
    }
    if (e.type === 'post' && e.post) d.postTopics[e.post] = e.topics;
  };

  for (const e of events) {
    const actorId = accountId(e.network, e.actor);
    const actor = touch(actorId, e.ts);
    if (e.f !== undefined && !(e.f >= (actor.knownFirst ?? Infinity))) actor.knownFirst = e.f;
    if (e.type === 'profile') {
      subject(actor, e);
      if (e.followers !== undefined) actor.followers = laterStamp(actor.followers, { value: e.followers, ts: e.ts });
      if (e.name !== undefined) actor.name = laterStamp(actor.name, { value: e.name, ts: e.ts });
      continue;
    }
    if (e.type === 'post' || e.type === 'reply') {
      if (e.type === 'post') subject(actor, e);
      author(actor, e);
      if (e.type === 'post') continue;
    }
    // Self-engagement counts for nothing.
    if (e.target === undefined || e.target === e.actor) continue;
    const target = touch(accountId(e.network, e.target), e.ts);
    subject(target, e);
    if (e.type === 'follow' || e.type === 'unfollow') {
      target.follows += e.type === 'follow' ? 1 : -1;
      continue;
    }
    const q = actorQuality(e.q);
    if (e.type === 'endorse') {
      const topic = e.topics![0]!;
      const day = dayOf(e.ts);
      target.endorsements.push({ key: `${day}|${topic}|${actorId}`, topic, endorser: actorId, w: ENDORSEMENT_WEIGHT * q * growth(day * DAY_MS, p) });
      continue;
    }
    target.received += 1;
    let set = engagerSets.get(target.id);
    if (!set) engagerSets.set(target.id, (set = new Set()));
    if (!set.has(actorId)) {
      set.add(actorId);
      target.engagers.push(actorId);
    }
    if (e.type === 'click' || e.type === 'conversion') {
      const w = e.type === 'click' ? CLICK_WEIGHT : conversionWeight(e.value);
      target.outcomes += w * growth(e.ts, p);
      target.engagerWeights[actorId] = (target.engagerWeights[actorId] ?? 0) + w * growth(e.ts, p);
      continue;
    }
    const we = (ENGAGEMENT_WEIGHTS[e.type] ?? 0) * q;
    const wa = (AMPLIFICATION_WEIGHTS[e.type] ?? 0) * q;
    const postId = e.post ?? NO_POST;
    const pd = (target.posts[postId] ??= { e: 0, a: 0, w: 0, engagers: [] });
    const g = growth(e.ts, p, postH);
    pd.e += we * g;
    pd.a += wa * g;
    const wH = (we + wa) * growth(e.ts, p);
    pd.w += wH;
    target.engagerWeights[actorId] = (target.engagerWeights[actorId] ?? 0) + wH;
    const pkey = `${target.id}\u0000${postId}`;
    let pe = postEngagers.get(pkey);
    if (!pe) postEngagers.set(pkey, (pe = new Set()));
    if (!pe.has(actorId)) {
      pe.add(actorId);
      pd.engagers.push(actorId);
    }
  }
  return out;
}
