/**
 * From account state to scores, pure: an account's own score, an entity's
 * (the combination of its accounts), and per-topic scores with their evidence.
 */
import {
  blend,
  COMPONENT_NAMES,
  decayTo,
  diversity,
  round1,
  scaled,
  SCALES,
  TOPIC_MIN_DAYS,
  TOPIC_MIN_ENDORSERS,
  TOPIC_MIN_ENGAGERS,
  type ComponentName,
  type ModelParams,
} from './model.js';

export interface TopicState {
  /** Forward-decayed weight of engagement on tagged posts and endorsements on the topic. */
  value: number;
  posts: number;
  days: number;
  engagers: number;
  endorsers: number;
}

/** What scoring needs of one account; read from its Redis hash. */
export interface AccountSnapshot {
  id: string;
  name: string | null;
  followers: number;
  follows: number;
  /** Σ over posts of (β·H-decayed post sum)^β: decays at half-life H. */
  E: number;
  A: number;
  O: number;
  K: number;
  /** Engagements received, and distinct engagers (HyperLogLog). */
  N: number;
  D: number;
  last: number;
  first: number;
  topics: Record<string, TopicState>;
}

export interface TopicScore {
  topic: string;
  score: number;
  evidence: { posts: number; days: number; engagers: number; endorsements: number };
}

/**
 * A record's qualified topics as its field `topics` keeps them (since 0.11):
 * `<topic>|<score>|<posts>|<days>|<engagers>|<endorsements>`, comma-joined
 * (topic slugs hold neither), '' for none. Versions before kept JSON.
 */
export function packTopics(topics: readonly TopicScore[]): string {
  return topics.map((t) => `${t.topic}|${t.score}|${t.evidence.posts}|${t.evidence.days}|${t.evidence.engagers}|${t.evidence.endorsements}`).join(',');
}

/** A record's field `topics` as the API gives it, in either layout (`packTopics`, or JSON before 0.11); [] when missing. */
export function unpackTopics(field: string | undefined): TopicScore[] {
  if (field === undefined || field === '') return [];
  if (field.startsWith('[')) return JSON.parse(field) as TopicScore[];
  return field.split(',').map((t) => {
    const [topic = '', score, posts, days, engagers, endorsements] = t.split('|');
    return { topic, score: Number(score), evidence: { posts: Number(posts), days: Number(days), engagers: Number(engagers), endorsements: Number(endorsements) } };
  });
}

export interface ScoreResult {
  score: number;
  components: Record<ComponentName, number>;
  /** Raw amounts behind the components, at `now`. */
  raw: Record<ComponentName, number>;
  /** Qualified topics, best first. */
  topics: TopicScore[];
}

/** Parses an account hash as stored by the apply script. */
export function parseAccount(id: string, h: Record<string, string>): AccountSnapshot {
  const n = (k: string) => Number(h[k] ?? 0) || 0;
  const topics: Record<string, TopicState> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith('t:')) {
      // '<posts>|<days>|<engagers>|<endorsers>|<value>|<the days>', '' for 0, trailing parts left out (TOPIC_LUA in scripts.ts).
      const [posts, days, engagers, endorsers, value] = v.split('|', 5).map((x) => Number(x) || 0);
      topics[k.slice(2)] = { posts: posts ?? 0, days: days ?? 0, engagers: engagers ?? 0, endorsers: endorsers ?? 0, value: value ?? 0 };
    } else if (k.length > 3 && k[2] === ':' && k[0] === 't') {
      // A field per part, as versions before 0.10 kept a topic (moved into 't:<topic>' when a scorer starts).
      const topic = k.slice(3);
      const t = (topics[topic] ??= { value: 0, posts: 0, days: 0, engagers: 0, endorsers: 0 });
      const x = Number(v) || 0;
      if (k.startsWith('tv:')) t.value = x;
      else if (k.startsWith('tp:')) t.posts = x;
      else if (k.startsWith('td:')) t.days = x;
      else if (k.startsWith('te:')) t.engagers = x;
      else if (k.startsWith('tk:')) t.endorsers = x;
    }
  }
  return {
    id,
    name: h.name ?? null,
    followers: n('f'),
    follows: n('nf'),
    E: n('E'),
    A: n('A'),
    O: n('O'),
    K: n('K'),
    N: n('N'),
    D: n('D'),
    last: n('last'),
    first: n('first'),
    topics,
  };
}

export function qualifies(t: Pick<TopicState, 'days' | 'engagers' | 'endorsers'>): boolean {
  return (t.days >= TOPIC_MIN_DAYS && t.engagers >= TOPIC_MIN_ENGAGERS) || t.endorsers >= TOPIC_MIN_ENDORSERS;
}

/** Raw component amounts of one account at `now`. */
export function rawOf(a: AccountSnapshot, now: number, p: ModelParams): Record<ComponentName, number> {
  const div = diversity(a.D, a.N);
  return {
    reach: Math.max(0, a.followers + a.follows),
    engagement: decayTo(a.E, now, p) * div,
    amplification: decayTo(a.A, now, p) * div,
    outcomes: decayTo(a.O, now, p),
    endorsements: decayTo(a.K, now, p),
  };
}

/**
 * The score of an entity made of `accounts` (one, for an unclaimed account),
 * at event time `now`. Raw amounts add up across accounts, and every
 * component grows with its raw amount, so an entity never scores below its
 * best account.
 */
export function scoreAccounts(accounts: readonly AccountSnapshot[], now: number, p: ModelParams): ScoreResult {
  const raw = { reach: 0, engagement: 0, amplification: 0, outcomes: 0, endorsements: 0 } as Record<ComponentName, number>;
  const topicAgg = new Map<string, TopicState>();
  for (const a of accounts) {
    const r = rawOf(a, now, p);
    for (const c of COMPONENT_NAMES) raw[c] += r[c];
    for (const [topic, t] of Object.entries(a.topics)) {
      const agg = topicAgg.get(topic) ?? { value: 0, posts: 0, days: 0, engagers: 0, endorsers: 0 };
      // Across accounts, distinct days, engagers and endorsers are at least the largest of each account's.
      agg.value += decayTo(t.value, now, p);
      agg.posts += t.posts;
      agg.days = Math.max(agg.days, t.days);
      agg.engagers = Math.max(agg.engagers, t.engagers);
      agg.endorsers = Math.max(agg.endorsers, t.endorsers);
      topicAgg.set(topic, agg);
    }
  }
  const components = {} as Record<ComponentName, number>;
  for (const c of COMPONENT_NAMES) components[c] = round1(scaled(raw[c], SCALES[c]));
  const exact = {} as Record<ComponentName, number>;
  for (const c of COMPONENT_NAMES) exact[c] = scaled(raw[c], SCALES[c]);
  const topics: TopicScore[] = [];
  for (const [topic, t] of topicAgg) {
    if (!qualifies(t)) continue;
    topics.push({
      topic,
      score: round1(1 + 0.99 * scaled(t.value, SCALES.topic)),
      evidence: { posts: t.posts, days: t.days, engagers: t.engagers, endorsements: t.endorsers },
    });
  }
  topics.sort((x, y) => y.score - x.score || x.topic.localeCompare(y.topic));
  return { score: blend(exact), components, raw, topics };
}
