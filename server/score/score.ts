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

/** A stored number; 0 for a missing or unreadable one. */
function num(v: string): number {
  return Number(v) || 0;
}

/** A topic field's value, '<posts>|<days>|<engagers>|<endorsers>|<value>|<the days>', '' for 0, trailing parts left out (TOPIC_LUA in scripts.ts). */
function parseTopic(v: string): TopicState {
  const parts = [0, 0, 0, 0, 0];
  let from = 0;
  for (let j = 0; j < 5 && from <= v.length; j++) {
    const to = v.indexOf('|', from);
    parts[j] = num(v.slice(from, to < 0 ? v.length : to));
    if (to < 0) break;
    from = to + 1;
  }
  return { posts: parts[0]!, days: parts[1]!, engagers: parts[2]!, endorsers: parts[3]!, value: parts[4]! };
}

/**
 * Parses an account hash as stored by the apply script, given as HGETALL's
 * flat list of fields and values (what the score store reads: a list costs
 * the Redis client and the garbage collector less than an object keyed by
 * each account's own field names).
 */
export function parseAccountFields(id: string, fields: readonly string[]): AccountSnapshot {
  // Topics keyed by slug, without a prototype: 'constructor' is a slug like any other.
  const topics = Object.create(null) as Record<string, TopicState>;
  const a: AccountSnapshot = { id, name: null, followers: 0, follows: 0, E: 0, A: 0, O: 0, K: 0, N: 0, D: 0, last: 0, first: 0, topics };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i]!;
    const v = fields[i + 1]!;
    switch (k) {
      case 'name': a.name = v; break;
      case 'f': a.followers = num(v); break;
      case 'nf': a.follows = num(v); break;
      case 'E': a.E = num(v); break;
      case 'A': a.A = num(v); break;
      case 'O': a.O = num(v); break;
      case 'K': a.K = num(v); break;
      case 'N': a.N = num(v); break;
      case 'D': a.D = num(v); break;
      case 'last': a.last = num(v); break;
      case 'first': a.first = num(v); break;
      default:
        if (k.startsWith('t:')) a.topics[k.slice(2)] = parseTopic(v);
        else if (k.length > 3 && k[2] === ':' && k[0] === 't') {
          // A field per part, as versions before 0.10 kept a topic (moved into 't:<topic>' when a scorer starts).
          const topic = k.slice(3);
          const t = (a.topics[topic] ??= { value: 0, posts: 0, days: 0, engagers: 0, endorsers: 0 });
          const x = num(v);
          if (k.startsWith('tv:')) t.value = x;
          else if (k.startsWith('tp:')) t.posts = x;
          else if (k.startsWith('td:')) t.days = x;
          else if (k.startsWith('te:')) t.engagers = x;
          else if (k.startsWith('tk:')) t.endorsers = x;
        }
    }
  }
  return a;
}

/** Parses an account hash given as an object (HGETALL's default reply, as tests and tools read it). */
export function parseAccount(id: string, h: Record<string, string>): AccountSnapshot {
  return parseAccountFields(id, Object.entries(h).flat());
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
