/**
 * The scoring model's constants and its decay arithmetic, pure: no Redis, no
 * clock. docs/scoring.md gives the reason for every number here.
 *
 * Decay is forward decay on event time (Cormode et al., ICDE 2009): a
 * contribution of weight w at time t is stored once as w·2^((t−L)/H); its
 * value at time `now` is that times 2^(−(now−L)/H). Sums of such terms do not
 * depend on arrival order, so replays and reordered deliveries agree.
 */
import type { EventType } from '../../shared/event.js';

export interface ModelParams {
  /** Half-life of every decaying component, in ms of event time. */
  halfLifeMs: number;
  /** Forward-decay landmark L, epoch ms. */
  landmarkMs: number;
}

export const DAY_MS = 86_400_000;
/** 2025-01-01T00:00:00Z. */
export const DEFAULT_LANDMARK_MS = Date.UTC(2025, 0, 1);

export function modelParams(halfLifeDays: number, landmarkMs = DEFAULT_LANDMARK_MS): ModelParams {
  return { halfLifeMs: halfLifeDays * DAY_MS, landmarkMs };
}

/**
 * Doubles overflow past 2^1023. The per-post sums grow as 2^((t−L)/(β·H)),
 * the fastest of all, so the landmark must stay within ~900·β·H of any event.
 */
export function checkLandmark(p: ModelParams, untilMs: number): string | null {
  const doublings = (untilMs - p.landmarkMs) / (POST_CONCAVITY * p.halfLifeMs);
  return doublings < 900
    ? null
    : `a half-life of ${(p.halfLifeMs / DAY_MS).toFixed(2)} days is too short for the score landmark ${new Date(p.landmarkMs).toISOString()}: ` +
        'decay factors would overflow. Use a longer half-life.';
}

/** Forward-decay factor at `ts` for half-life `h` (defaults to the model's). */
export function growth(ts: number, p: ModelParams, h = p.halfLifeMs): number {
  return 2 ** ((ts - p.landmarkMs) / h);
}

/** What a stored forward-decayed sum is worth at `now`. */
export function decayTo(sum: number, now: number, p: ModelParams): number {
  return sum === 0 ? 0 : sum / growth(now, p);
}

/**
 * Returns diminish within a post: a post's value is (its weighted
 * engagement)^β. With β = 0.5, 100 engagements on one post are worth 10, and
 * spread over 100 posts, 100.
 */
export const POST_CONCAVITY = 0.5;

/** A post sum's value: sum^β, nothing for nothing (the APPLY script's `pow`). */
export function postValue(sum: number): number {
  return sum <= 0 ? 0 : sum ** POST_CONCAVITY;
}

/** Weights of what an account receives, by component. */
export const ENGAGEMENT_WEIGHTS: Partial<Record<EventType, number>> = { like: 1, reply: 3 };
export const AMPLIFICATION_WEIGHTS: Partial<Record<EventType, number>> = { mention: 2, share: 4 };
export const CLICK_WEIGHT = 1;
/** A conversion is worth 5, plus 2 per factor of ten of its value (a 99 € sale: 9). */
export function conversionWeight(value: number | undefined): number {
  return 5 + 2 * Math.log10(1 + (value ?? 0));
}
export const ENDORSEMENT_WEIGHT = 3;

/**
 * Engagement from high-scoring accounts weighs more, at most 3×: an actor
 * with score s (read at ingest) multiplies its weight by 1 + 2·(s−1)/99.
 */
export function actorQuality(score: number | undefined): number {
  if (score === undefined || !Number.isFinite(score)) return 1;
  return 1 + (2 * (Math.min(100, Math.max(1, score)) - 1)) / 99;
}

/**
 * Distinct people count: when N engagements come from D distinct accounts,
 * engagement and amplification are multiplied by min(1, 3·D/N)^½. Up to three
 * engagements per engager on average cost nothing; 1,000 likes from 10
 * accounts are worth 17% of 1,000 likes from 1,000.
 */
export function diversity(distinct: number, total: number): number {
  if (total <= 0) return 1;
  return Math.sqrt(Math.min(1, (3 * distinct) / total));
}

/** Each component maps a raw amount x to 0–100 as 100·log10(1 + x/unit)/full, capped. */
export interface Scale {
  unit: number;
  full: number;
}

export const SCALES = {
  reach: { unit: 1, full: 8 },
  engagement: { unit: 1, full: 4 },
  amplification: { unit: 1, full: 3.7 },
  outcomes: { unit: 1, full: 3.5 },
  endorsements: { unit: 1, full: 2.8 },
  topic: { unit: 1, full: 3.5 },
} as const satisfies Record<string, Scale>;

export const COMPONENT_WEIGHTS = {
  reach: 0.1,
  engagement: 0.35,
  amplification: 0.2,
  outcomes: 0.2,
  endorsements: 0.15,
} as const;
export type ComponentName = keyof typeof COMPONENT_WEIGHTS;
export const COMPONENT_NAMES = Object.keys(COMPONENT_WEIGHTS) as ComponentName[];

/**
 * A score record keeps its components in one field, `c`: their values
 * comma-joined in COMPONENT_NAMES order (with five fields of their own a
 * record took ~40 bytes more in `bench/memory.ts`, and every write sent four
 * more). Records written before 0.7.2 hold `c:<name>` fields instead, until
 * their next write.
 */
export function packComponents(components: Record<ComponentName, number>): string {
  const parts = COMPONENT_NAMES.map((name) => String(components[name]));
  // Trailing zeros are left out (an account with reach only is '25.8'); the first part always stays.
  while (parts.length > 1 && parts[parts.length - 1] === '0') parts.pop();
  return parts.join(',');
}

/**
 * The components of a score record; 0 where missing. A record last written
 * before 0.7.2 has a field each (0.7.2 deletes them when it writes the
 * record), and they win over a packed field that such a version left behind
 * (after going back to 0.7.1 and forward again).
 */
export function unpackComponents(record: Record<string, string>): Record<ComponentName, number> {
  const perField = COMPONENT_NAMES.some((name) => record[`c:${name}`] !== undefined);
  const packed = perField ? undefined : record.c?.split(',');
  const out = {} as Record<ComponentName, number>;
  COMPONENT_NAMES.forEach((name, i) => (out[name] = Number((packed ? packed[i] : record[`c:${name}`]) ?? 0)));
  return out;
}

export function scaled(x: number, s: Scale): number {
  if (!(x > 0)) return 0;
  return Math.min(100, (100 * Math.log10(1 + x / s.unit)) / s.full);
}

export const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * The weighted sum b of the components (0–100) goes through a saturating
 * curve, 200·b/(b + 100): it keeps 0 and 100 where they are, lifts the middle
 * (b = 20 → 33) and makes the top slow to reach (b = 80 → 89).
 */
export function curve(b: number): number {
  return (200 * b) / (b + 100);
}

/** The 1–100 score of a set of components. */
export function blend(components: Record<ComponentName, number>): number {
  let sum = 0;
  for (const name of COMPONENT_NAMES) sum += COMPONENT_WEIGHTS[name] * components[name];
  return round1(1 + 0.99 * curve(sum));
}

/** Topic evidence thresholds (SCORING.md property 7). */
export const TOPIC_MIN_DAYS = 2;
export const TOPIC_MIN_ENGAGERS = 3;
export const TOPIC_MIN_ENDORSERS = 3;

export function dayOf(ts: number): number {
  return Math.floor(ts / DAY_MS);
}
