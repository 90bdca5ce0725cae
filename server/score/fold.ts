/**
 * The APPLY script's arithmetic in TypeScript, pure and in memory: the
 * reference the scoring properties are tested on, and against which the Lua
 * is checked on real Redis. Distinct counts are exact here (the script uses
 * HyperLogLog, within about 1%).
 */
import { laterStamp, type AccountDelta, type Stamped } from './aggregate.js';
import { postValue as pow } from './model.js';
import type { AccountSnapshot, TopicState } from './score.js';

interface MemTopic {
  value: number;
  posts: number;
  days: Set<number>;
  engagers: Set<string>;
  endorsers: Set<string>;
}

interface MemAccount {
  first: number;
  last: number;
  followers?: Stamped<number>;
  name?: Stamped<string>;
  follows: number;
  postTopics: Map<string, string[]>;
  postE: Map<string, number>;
  postA: Map<string, number>;
  E: number;
  A: number;
  O: number;
  K: number;
  N: number;
  engagers: Set<string>;
  endorsed: Set<string>;
  topics: Map<string, MemTopic>;
}

export class MemoryState {
  readonly accounts = new Map<string, MemAccount>();

  apply(deltas: Iterable<AccountDelta>): void {
    for (const d of deltas) this.applyOne(d);
  }

  private topic(a: MemAccount, t: string): MemTopic {
    let x = a.topics.get(t);
    if (!x) a.topics.set(t, (x = { value: 0, posts: 0, days: new Set(), engagers: new Set(), endorsers: new Set() }));
    return x;
  }

  private applyOne(d: AccountDelta): void {
    let a = this.accounts.get(d.id);
    if (!a) {
      a = { first: d.first, last: 0, follows: 0, postTopics: new Map(), postE: new Map(), postA: new Map(), E: 0, A: 0, O: 0, K: 0, N: 0, engagers: new Set(), endorsed: new Set(), topics: new Map() };
      this.accounts.set(d.id, a);
    }
    a.first = Math.min(a.first, d.first);
    a.last = Math.max(a.last, d.last);
    if (d.followers) a.followers = laterStamp(a.followers, d.followers);
    if (d.name) a.name = laterStamp(a.name, d.name);
    a.follows += d.follows;
    for (const [p, topics] of Object.entries(d.postTopics)) a.postTopics.set(p, topics);
    for (const [t, x] of Object.entries(d.authored)) {
      const topic = this.topic(a, t);
      topic.posts += x.posts;
      for (const day of x.days) topic.days.add(day);
    }
    for (const [p, v] of Object.entries(d.posts)) {
      const oe = a.postE.get(p) ?? 0;
      const oa = a.postA.get(p) ?? 0;
      if (v.e > 0) {
        a.postE.set(p, oe + v.e);
        a.E += pow(oe + v.e) - pow(oe);
      }
      if (v.a > 0) {
        a.postA.set(p, oa + v.a);
        a.A += pow(oa + v.a) - pow(oa);
      }
      const topics = a.postTopics.get(p);
      if (topics && v.w > 0) {
        for (const t of topics) {
          const topic = this.topic(a, t);
          topic.value += v.w;
          for (const who of v.engagers) topic.engagers.add(who);
        }
      }
    }
    a.O += d.outcomes;
    for (const en of d.endorsements) {
      if (a.endorsed.has(en.key)) continue;
      a.endorsed.add(en.key);
      a.K += en.w;
      const topic = this.topic(a, en.topic);
      topic.value += en.w;
      topic.endorsers.add(en.endorser);
    }
    for (const who of d.engagers) a.engagers.add(who);
    a.N += d.received;
  }

  snapshot(id: string): AccountSnapshot {
    const a = this.accounts.get(id);
    if (!a) throw new Error(`no account ${id}`);
    const topics: Record<string, TopicState> = {};
    for (const [t, x] of a.topics) topics[t] = { value: x.value, posts: x.posts, days: x.days.size, engagers: x.engagers.size, endorsers: x.endorsers.size };
    return {
      id,
      name: a.name?.value ?? null,
      followers: a.followers?.value ?? 0,
      follows: a.follows,
      E: a.E,
      A: a.A,
      O: a.O,
      K: a.K,
      N: a.N,
      D: a.engagers.size,
      last: a.last,
      first: a.first,
      topics,
    };
  }
}
