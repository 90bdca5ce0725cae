/**
 * The demo source: a seeded simulator of a believable population, fed through
 * the same ingest path as any producer.
 *
 * - Audiences are heavy-tailed (Pareto, α≈1.1, from ~50 to tens of millions).
 * - People and brands: brands post more and draw clicks and conversions.
 * - Each account has one to three topics; posts are tagged with them.
 * - Engagement depends on a hidden per-account quality, not only on audience,
 *   so big accounts with dull posts exist next to small ones with lively ones.
 * - Bursts: now and then a post goes viral and draws a wave of engagement.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ActivityEvent, EventType } from '../../shared/event.js';
import { AppError } from '../errors.js';
import type { Ingest } from './ingest.js';

export const DEMO_NETWORKS = ['x', 'bluesky', 'mastodon', 'instagram', 'youtube', 'linkedin', 'blog'] as const;
export const DEMO_TOPICS = [
  'ai', 'tech', 'music', 'sports', 'fashion', 'food', 'travel', 'gaming', 'finance', 'politics',
  'science', 'health', 'film', 'design', 'climate', 'startups', 'photography', 'books',
] as const;

const FIRST = ['ada', 'alan', 'grace', 'linus', 'maya', 'noor', 'omar', 'priya', 'sam', 'tess', 'yuki', 'zoe', 'kai', 'lena', 'ravi', 'iris'];
const LAST = ['stone', 'rivera', 'okafor', 'chen', 'novak', 'haddad', 'silva', 'berg', 'tanaka', 'moreau', 'singh', 'kowalski'];
const BRAND_A = ['north', 'bright', 'blue', 'urban', 'true', 'nova', 'pixel', 'green', 'daily', 'prime'];
const BRAND_B = ['labs', 'media', 'works', 'news', 'studio', 'foods', 'gear', 'wire', 'co', 'outfitters'];

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoAccount {
  network: string;
  handle: string;
  name: string;
  kind: 'person' | 'brand';
  followers: number;
  /** Hidden engagement quality, 0..1. */
  quality: number;
  /** Relative posting rate. */
  activity: number;
  topics: string[];
}

interface LivePost {
  author: DemoAccount;
  id: string;
  topics: string[];
  /** Engagement still to come, relative. */
  heat: number;
}

export interface SimulatorOptions {
  seed: number;
  accounts?: number;
}

export class Simulator {
  readonly accounts: DemoAccount[];
  private readonly rnd: () => number;
  private readonly posts: LivePost[] = [];
  private seq = 0;
  private readonly runId: string;

  private readonly byNetwork = new Map<string, DemoAccount[]>();

  constructor(opts: SimulatorOptions) {
    this.rnd = prng(opts.seed);
    this.runId = `demo${opts.seed}-${Date.now().toString(36)}`;
    this.accounts = Array.from({ length: opts.accounts ?? 2000 }, (_, i) => this.makeAccount(i));
    for (const a of this.accounts) {
      const list = this.byNetwork.get(a.network) ?? [];
      list.push(a);
      this.byNetwork.set(a.network, list);
    }
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private makeAccount(i: number): DemoAccount {
    const brand = this.rnd() < 0.2;
    const network = this.pick(DEMO_NETWORKS);
    const base = brand ? `${this.pick(BRAND_A)}${this.pick(BRAND_B)}` : `${this.pick(FIRST)}_${this.pick(LAST)}`;
    const name = brand ? base.replace(/^./, (c) => c.toUpperCase()) : base.split('_').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
    // Pareto audience: x_m / U^(1/α), capped.
    const followers = Math.min(40_000_000, Math.round(50 / Math.pow(1 - this.rnd(), 1 / 1.1)));
    const topics = new Set<string>();
    const n = 1 + Math.floor(this.rnd() * 3);
    while (topics.size < n) topics.add(this.pick(DEMO_TOPICS));
    return {
      network,
      handle: `${base}${i}`,
      name,
      kind: brand ? 'brand' : 'person',
      followers,
      quality: Math.pow(this.rnd(), 2),
      activity: (brand ? 2 : 1) * (0.2 + this.rnd()),
      topics: [...topics],
    };
  }

  private nextId(): string {
    return `${this.runId}-${(this.seq++).toString(36)}`;
  }

  /** One profile snapshot per account: what a connector sends when it starts. */
  profiles(ts: number): ActivityEvent[] {
    return this.accounts.map((a) => ({ id: this.nextId(), network: a.network, type: 'profile', actor: a.handle, name: a.name, followers: a.followers, ts }));
  }

  /**
   * Entities: each brand name with all its accounts (a brand on several
   * networks), kind brand. People stay unclaimed accounts.
   */
  entities(): { id: string; name: string; kind: 'brand'; accounts: string[] }[] {
    const brands = new Map<string, { id: string; name: string; kind: 'brand'; accounts: string[] }>();
    for (const a of this.accounts) {
      if (a.kind !== 'brand') continue;
      const id = a.name.toLowerCase();
      const e = brands.get(id) ?? { id, name: a.name, kind: 'brand' as const, accounts: [] };
      e.accounts.push(`${a.network}:${a.handle}`);
      brands.set(id, e);
    }
    return [...brands.values()];
  }

  /** `n` events spread evenly over [from, to): a history to start from. */
  history(n: number, from: number, to: number): ActivityEvent[] {
    const out: ActivityEvent[] = [];
    const step = 500;
    for (let i = 0; i < n; i += step) out.push(...this.next(Math.min(step, n - i), from + Math.floor(((to - from) * i) / n)));
    return out;
  }

  /** The next `n` events, stamped `ts`. */
  next(n: number, ts: number): ActivityEvent[] {
    const out: ActivityEvent[] = [];
    while (out.length < n) {
      if (this.posts.length < 20 || this.rnd() < 0.15) out.push(this.newPost(ts));
      else out.push(this.engage(ts));
    }
    return out;
  }

  private newPost(ts: number): ActivityEvent {
    let author = this.pick(this.accounts);
    // Favour active accounts without scanning all of them.
    for (let i = 0; i < 2; i++) {
      const other = this.pick(this.accounts);
      if (other.activity > author.activity) author = other;
    }
    const topics = author.topics.filter(() => this.rnd() < 0.7).slice(0, 2);
    const viral = this.rnd() < 0.01;
    const heat = (0.5 + 8 * author.quality) * (1 + Math.log10(1 + author.followers) / 2) * (viral ? 25 : 1);
    const post: LivePost = { author, id: `p-${this.nextId()}`, topics: topics.length ? topics : [author.topics[0]!], heat };
    this.posts.push(post);
    if (this.posts.length > 400) this.posts.splice(0, this.posts.length - 400);
    return { id: this.nextId(), network: author.network, type: 'post', actor: author.handle, post: post.id, topics: post.topics, ts };
  }

  private engage(ts: number): ActivityEvent {
    // Hot posts draw most engagement; heat cools as it is spent.
    let post = this.pick(this.posts);
    for (let i = 0; i < 3; i++) {
      const other = this.pick(this.posts);
      if (other.heat > post.heat) post = other;
    }
    post.heat *= 0.97;
    const a = post.author;
    // People engage with accounts of their own network.
    const peers = this.byNetwork.get(a.network)!;
    let actor = this.pick(peers);
    if (actor === a) actor = peers[(peers.indexOf(a) + 1) % peers.length]!;
    if (actor === a) return this.newPost(ts);
    const r = this.rnd();
    const base = { id: this.nextId(), network: a.network, actor: actor.handle, target: a.handle, ts };
    const type: EventType =
      r < 0.5 ? 'like' : r < 0.62 ? 'reply' : r < 0.74 ? 'share' : r < 0.8 ? 'mention' : r < 0.88 ? (a.kind === 'brand' ? 'click' : 'follow') : r < 0.9 ? 'unfollow' : r < 0.96 ? 'click' : r < 0.98 ? (a.kind === 'brand' ? 'conversion' : 'like') : 'endorse';
    switch (type) {
      case 'reply':
        return { ...base, type, post: post.id, topics: post.topics };
      case 'endorse':
        return { ...base, type, topics: [this.pick(a.topics)] };
      case 'conversion':
        return { ...base, type, post: post.id, value: Math.round(5 + this.rnd() * 195) };
      case 'follow':
      case 'unfollow':
      case 'mention':
        return { ...base, type };
      default:
        return { ...base, type, post: post.id };
    }
  }
}

export interface DemoOptions {
  rate: number;
  seed: number;
  accounts?: number;
  /** Events of history fed at start, spread over the last `historyDays` (default 200,000 over 7 days). */
  historyEvents?: number;
  historyDays?: number;
  /** Registers the simulator's entities (brands with their accounts). */
  register?: (entity: { id: string; name: string; kind: 'brand'; accounts: string[] }) => Promise<unknown>;
  log?: FastifyBaseLogger;
  clock?: () => number;
}

/**
 * Feeds the simulator into `ingest`: profiles and a week of history first, in
 * chunks, then `rate` events a second, live. Returns a stop function.
 */
export function startDemo(ingest: Ingest, opts: DemoOptions): () => Promise<void> {
  const sim = new Simulator({ seed: opts.seed, accounts: opts.accounts });
  const clock = opts.clock ?? Date.now;
  let stopped = false;
  let busy = true;
  const warn = (err: unknown) => opts.log?.warn({ err }, 'demo ingest failed');
  const start = async () => {
    for (const e of sim.entities()) await opts.register?.(e);
    const now = clock();
    const days = opts.historyDays ?? 7;
    const past = [...sim.profiles(now - days * 86_400_000), ...sim.history(opts.historyEvents ?? 200_000, now - days * 86_400_000, now)];
    for (let i = 0; i < past.length && !stopped; i += 5000) {
      // The history is fed as fast as scoring takes it: on 503 (scoring behind) the chunk is sent again.
      for (;;) {
        try {
          await ingest.ingest(past.slice(i, i + 5000));
          break;
        } catch (err) {
          if (stopped || !(err instanceof AppError) || err.statusCode !== 503) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  };
  let pending: Promise<unknown> = start()
    .catch(warn)
    .finally(() => (busy = false));
  let carry = 0;
  /** A batch refused with 503 (scoring behind): sent again on the next tick, before anything new. */
  let refused: ActivityEvent[] | null = null;
  const tickMs = 100;
  const timer = setInterval(() => {
    // While a batch is in flight the simulator falls behind (up to a second's worth) rather than piling up requests.
    carry = Math.min(carry + (opts.rate * tickMs) / 1000, Math.max(1, opts.rate));
    const n = Math.floor(carry);
    if ((n === 0 && !refused) || stopped || busy) return;
    let batch = refused;
    refused = null;
    if (!batch) {
      carry -= n;
      batch = sim.next(n, clock());
    }
    busy = true;
    const sent = batch;
    pending = ingest
      .ingest(sent)
      .catch((err: unknown) => {
        if (err instanceof AppError && err.statusCode === 503) refused = sent;
        else warn(err);
      })
      .finally(() => (busy = false));
  }, tickMs);
  opts.log?.info({ rate: opts.rate, accounts: sim.accounts.length, seed: opts.seed }, 'demo simulator started');
  return async () => {
    stopped = true;
    clearInterval(timer);
    await pending.catch(() => {});
  };
}
