/**
 * The 13 properties of SCORING.md, each a named test with concrete numbers,
 * on the pure model (aggregate → fold → score). The main ones are also tested
 * through the HTTP API against real Redis (test/integration/scoring-api.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountId } from '../../shared/event.js';
import { Simulator } from '../../server/ingest/demo.js';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { MemoryState } from '../../server/score/fold.js';
import { actorQuality, blend, COMPONENT_WEIGHTS, DAY_MS, modelParams, scaled, SCALES } from '../../server/score/model.js';
import { scoreAccounts } from '../../server/score/score.js';
import { ev, model, P, posts, T0 } from '../helpers/model.js';

const handles = ['a', 'b', 'c', 'd', 'e'];
const arbEvent = fc.record({
  type: fc.constantFrom('post', 'reply', 'share', 'like', 'mention', 'follow', 'unfollow', 'click', 'conversion', 'endorse', 'profile' as const),
  actor: fc.constantFrom(...handles),
  target: fc.constantFrom(...handles),
  post: fc.constantFrom('p1', 'p2', 'p3', undefined),
  topic: fc.constantFrom('ai', 'music'),
  dt: fc.integer({ min: 0, max: 40 * DAY_MS }),
  n: fc.integer({ min: 0, max: 5_000_000 }),
});
type Arb = typeof arbEvent extends fc.Arbitrary<infer T> ? T : never;

function toEvent(r: Arb, i: number): StreamEvent {
  // Each actor has one score (1, 25, 49, ...): a weight read at another time is property 6's allowed exception to 11.
  const base = { id: `f${i}`, network: 'x', actor: r.actor, ts: T0 + r.dt, q: 1 + 24 * handles.indexOf(r.actor) };
  switch (r.type) {
    case 'profile':
      return { ...base, type: 'profile', followers: r.n };
    case 'post':
      return { ...base, type: 'post', post: r.post ?? 'p0', topics: [r.topic] };
    case 'endorse':
      return { ...base, type: 'endorse', target: r.target, topics: [r.topic] };
    case 'conversion':
      return { ...base, type: 'conversion', target: r.target, value: r.n % 500, ...(r.post ? { post: r.post } : {}) };
    default:
      return { ...base, type: r.type, target: r.target, ...(r.post ? { post: r.post } : {}), ...(r.type === 'reply' ? { topics: [r.topic] } : {}) };
  }
}
const NOW = T0 + 41 * DAY_MS;

describe('SCORING.md properties', () => {
  describe('1. Scale', () => {
    it('any account and any entity scores within [1, 100]', () => {
      fc.assert(
        fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 80 }), (raw) => {
          const m = model(raw.map(toEvent));
          const ids = [...m.state.accounts.keys()];
          for (const id of ids) {
            const s = m.score(id, NOW).score;
            expect(s).toBeGreaterThanOrEqual(1);
            expect(s).toBeLessThanOrEqual(100);
          }
          const all = m.score(ids, NOW).score;
          expect(all).toBeGreaterThanOrEqual(1);
          expect(all).toBeLessThanOrEqual(100);
        }),
        { numRuns: 200 },
      );
    });

    it('a new account with one post and a handful of likes scores under 15', () => {
      const m = model([...posts('new', 1), ...['a', 'b', 'c', 'd', 'e'].map((who) => ev('like', who, 'new', { post: 'new-p0' }))]);
      const s = m.score('new', T0).score;
      expect(s).toBeGreaterThan(1);
      expect(s).toBeLessThan(15);
    });

    it('in a seeded demo population the median is 20–45 and fewer than 1 in 100 reach 80', () => {
      const sim = new Simulator({ seed: 42, accounts: 2000 });
      const end = Date.UTC(2026, 10, 20);
      const from = end - 7 * DAY_MS;
      const state = new MemoryState();
      const own = (id: string, now: number) => (state.accounts.has(id) ? scoreAccounts([state.snapshot(id)], now, P).score : 1);
      const history = [...sim.profiles(from), ...sim.history(200_000, from, end)];
      // As ingest does: each event carries its actor's score when it arrives.
      for (let i = 0; i < history.length; i += 10_000) {
        const chunk = history.slice(i, i + 10_000) as StreamEvent[];
        const now = chunk[0]!.ts;
        const cache = new Map<string, number>();
        for (const e of chunk) {
          const id = accountId(e.network, e.actor);
          if (!cache.has(id)) cache.set(id, own(id, now));
          e.q = cache.get(id);
        }
        state.apply(aggregate(chunk, P).values());
      }
      const registered = new Set(sim.entities().flatMap((e) => e.accounts));
      const scores = [
        ...sim.entities().map((e) => scoreAccounts(e.accounts.map((a) => state.snapshot(a)), end, P).score),
        ...[...state.accounts.keys()].filter((id) => !registered.has(id)).map((id) => own(id, end)),
      ].sort((a, b) => a - b);
      const median = scores[Math.floor(scores.length / 2)]!;
      const atLeast80 = scores.filter((s) => s >= 80).length / scores.length;
      console.log(`demo population: n=${scores.length} median=${median} p90=${scores[Math.floor(scores.length * 0.9)]} p99=${scores[Math.floor(scores.length * 0.99)]} >=80: ${(100 * atLeast80).toFixed(2)}%`);
      expect(scores.length).toBeGreaterThan(1500);
      expect(median).toBeGreaterThanOrEqual(20);
      expect(median).toBeLessThanOrEqual(45);
      expect(atLeast80).toBeLessThan(0.01);
      // And they spread out: the top tenth is far from the bottom tenth.
      expect(scores[Math.floor(scores.length * 0.9)]! - scores[Math.floor(scores.length * 0.1)]!).toBeGreaterThan(30);
    }, 60_000);
  });

  it('2. Engagement over reach: 10M followers with a few likes per post score below 200k followers with replies, shares and clicks', () => {
    const celebrity = [
      ev('profile', 'celeb', undefined, { followers: 10_000_000 }),
      ...posts('celeb', 30),
      ...Array.from({ length: 30 * 3 }, (_, i) => ev('like', `fan${i}`, 'celeb', { post: `celeb-p${i % 30}` })),
    ];
    const publisher = [
      ev('profile', 'pub', undefined, { followers: 200_000 }),
      ...posts('pub', 30),
      ...Array.from({ length: 30 * 6 }, (_, i) => ev('reply', `reader${i}`, 'pub', { post: `pub-p${i % 30}` })),
      ...Array.from({ length: 30 * 4 }, (_, i) => ev('share', `sharer${i}`, 'pub', { post: `pub-p${i % 30}` })),
      ...Array.from({ length: 30 * 10 }, (_, i) => ev('click', `visitor${i}`, 'pub', { post: `pub-p${i % 30}` })),
    ];
    const m = model([...celebrity, ...publisher]);
    const c = m.score('celeb');
    const p = m.score('pub');
    expect(c.components.reach).toBeGreaterThan(p.components.reach);
    expect(p.score).toBeGreaterThan(c.score + 10);
    // Reach alone buys little: 10 million followers and nothing else.
    expect(model([ev('profile', 'only', undefined, { followers: 10_000_000 })]).score('only').score).toBeLessThan(20);
  });

  it('3. Outcomes count: clicks and conversions raise a score with no likes or shares, more with more value', () => {
    const base = posts('shop', 10);
    const clicks = Array.from({ length: 40 }, (_, i) => ev('click', `v${i}`, 'shop', { post: `shop-p${i % 10}` }));
    const sales = (value: number) => Array.from({ length: 20 }, (_, i) => ev('conversion', `buyer${i}`, 'shop', { post: `shop-p${i % 10}`, value }));
    const none = model(base).score('shop');
    const withClicks = model([...base, ...clicks]).score('shop');
    const withSales = model([...base, ...clicks, ...sales(10)]).score('shop');
    const withBigSales = model([...base, ...clicks, ...sales(500)]).score('shop');
    expect(withClicks.score).toBeGreaterThan(none.score + 5);
    expect(withSales.score).toBeGreaterThan(withClicks.score);
    expect(withBigSales.score).toBeGreaterThan(withSales.score);
    expect(withBigSales.components.engagement).toBe(0);
    expect(withBigSales.components.amplification).toBe(0);
  });

  it('4. One post does not make an influencer: the same engagement spread over many posts counts for more', () => {
    const likers = Array.from({ length: 200 }, (_, i) => `liker${i}`);
    const viral = model([...posts('v', 20), ...likers.map((who) => ev('like', who, 'v', { post: 'v-p0' }))]).score('v');
    const steady = model([...posts('s', 20), ...likers.map((who, i) => ev('like', who, 's', { post: `s-p${i % 20}` }))]).score('s');
    expect(steady.raw.engagement / viral.raw.engagement).toBeCloseTo(Math.sqrt(20), 6);
    expect(steady.score).toBeGreaterThan(viral.score + 5);
  });

  describe('5. Distinct people count', () => {
    it('1,000 likes from 10 accounts count far less than 1,000 likes from 1,000 accounts', () => {
      const few = model([...posts('few', 100), ...Array.from({ length: 1000 }, (_, i) => ev('like', `f${i % 10}`, 'few', { post: `few-p${i % 100}` }))]).score('few');
      const many = model([...posts('many', 100), ...Array.from({ length: 1000 }, (_, i) => ev('like', `m${i}`, 'many', { post: `many-p${i % 100}` }))]).score('many');
      expect(few.raw.engagement / many.raw.engagement).toBeLessThan(0.2);
      expect(many.score - few.score).toBeGreaterThan(5);
    });

    it('self-engagement counts for nothing, for any history', () => {
      fc.assert(
        fc.property(fc.array(arbEvent, { maxLength: 40 }), fc.array(fc.constantFrom('like', 'share', 'reply', 'follow', 'endorse', 'click', 'conversion', 'mention' as const), { minLength: 1, maxLength: 20 }), (raw, selfTypes) => {
          const history = raw.map(toEvent);
          const selfish = selfTypes.map((type, i) => ev(type, 'a', 'a', { id: `self${i}`, post: 'p1', ...(type === 'endorse' ? { topics: ['ai'] } : {}), ...(type === 'reply' ? { topics: ['ai'] } : {}) }));
          const without = model([...history, ev('post', 'a', undefined, { post: 'p1' })]);
          const withSelf = model([...history, ev('post', 'a', undefined, { post: 'p1' }), ...selfish]);
          const strip = (r: ReturnType<typeof without.score>) => ({ score: r.score, components: r.components, topics: r.topics });
          expect(strip(withSelf.score('a', NOW))).toEqual(strip(without.score('a', NOW)));
        }),
        { numRuns: 150 },
      );
    });
  });

  it('6. Who engages matters: engagement from high-scoring accounts weighs more, at most 3 times', () => {
    const replies = (q: number) => [...posts('t', 10), ...Array.from({ length: 50 }, (_, i) => ev('reply', `r${i}`, 't', { post: `t-p${i % 10}`, q }))];
    const fromNew = model(replies(1)).score('t');
    const fromMid = model(replies(50)).score('t');
    const fromTop = model(replies(100)).score('t');
    expect(fromMid.score).toBeGreaterThan(fromNew.score);
    expect(fromTop.score).toBeGreaterThan(fromMid.score);
    // Per-post values are (Σ w·q)^½: three times the weight is √3 times the value.
    expect(fromTop.raw.engagement / fromNew.raw.engagement).toBeCloseTo(Math.sqrt(3), 6);
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (s) => {
        const q = actorQuality(s);
        expect(q).toBeGreaterThanOrEqual(1);
        expect(q).toBeLessThanOrEqual(3);
      }),
    );
    expect(actorQuality(100)).toBe(3);
    expect(actorQuality(1)).toBe(1);
  });

  describe('7. Topics need evidence', () => {
    it('one stray post, however popular, never lists a topic', () => {
      const m = model([ev('post', 'a', undefined, { post: 'p', topics: ['golf'] }), ...Array.from({ length: 500 }, (_, i) => ev('like', `u${i}`, 'a', { post: 'p' }))]);
      expect(m.score('a').topics).toEqual([]);
    });

    it('posts on 2 distinct days with engagement from 3 distinct accounts list it, with evidence and a score', () => {
      const day2 = T0 + DAY_MS;
      const events = [
        ev('post', 'a', undefined, { post: 'p1', topics: ['golf'] }),
        ev('post', 'a', undefined, { post: 'p2', topics: ['golf'], ts: day2 }),
        ev('like', 'u1', 'a', { post: 'p1' }),
        ev('reply', 'u2', 'a', { post: 'p2', ts: day2 }),
      ];
      expect(model(events).score('a', day2).topics).toEqual([]);
      const listed = model([...events, ev('share', 'u3', 'a', { post: 'p2', ts: day2 })]).score('a', day2).topics;
      expect(listed).toEqual([{ topic: 'golf', score: expect.any(Number), evidence: { posts: 2, days: 2, engagers: 3, endorsements: 0 } }]);
      expect(listed[0]!.score).toBeGreaterThan(1);
      expect(listed[0]!.score).toBeLessThanOrEqual(100);
      // Two posts on the same day do not make two days.
      const sameDay = model([ev('post', 'b', undefined, { post: 'q1', topics: ['golf'] }), ev('post', 'b', undefined, { post: 'q2', topics: ['golf'] }), ...['u1', 'u2', 'u3'].map((u) => ev('like', u, 'b', { post: 'q1' }))]);
      expect(sameDay.score('b').topics).toEqual([]);
    });

    it('or endorsements on the topic from 3 distinct endorsers', () => {
      const two = [ev('endorse', 'k1', 'a', { topics: ['chess'] }), ev('endorse', 'k2', 'a', { topics: ['chess'] }), ev('endorse', 'k2', 'a', { topics: ['chess'], ts: T0 + 2 * DAY_MS })];
      expect(model(two).score('a').topics).toEqual([]);
      const three = model([...two, ev('endorse', 'k3', 'a', { topics: ['chess'] })]).score('a');
      expect(three.topics.map((t) => [t.topic, t.evidence.endorsements])).toEqual([['chess', 3]]);
    });
  });

  it('8. +K: an endorser counts once per target, topic and day, with weight growing with its own score', () => {
    const once = model([ev('endorse', 'k', 'a', { topics: ['ai'] })]).score('a');
    const sameDay = model([ev('endorse', 'k', 'a', { topics: ['ai'] }), ev('endorse', 'k', 'a', { topics: ['ai'], ts: T0 + 3_600_000 })]).score('a');
    const twoDays = model([ev('endorse', 'k', 'a', { topics: ['ai'] }), ev('endorse', 'k', 'a', { topics: ['ai'], ts: T0 + DAY_MS })]).score('a', T0 + DAY_MS);
    const otherTopic = model([ev('endorse', 'k', 'a', { topics: ['ai'] }), ev('endorse', 'k', 'a', { topics: ['go'] })]).score('a');
    expect(sameDay.raw.endorsements).toBeCloseTo(once.raw.endorsements, 9);
    expect(otherTopic.raw.endorsements).toBeCloseTo(2 * once.raw.endorsements, 9);
    expect(twoDays.raw.endorsements).toBeGreaterThan(once.raw.endorsements * 1.9);
    const fromStar = model([ev('endorse', 'k', 'a', { topics: ['ai'], q: 90 })]).score('a');
    expect(fromStar.raw.endorsements / once.raw.endorsements).toBeCloseTo(actorQuality(90), 9);
    expect(fromStar.score).toBeGreaterThan(once.score);
  });

  describe('9. Scores move both ways', () => {
    const history = [...posts('a', 10), ...Array.from({ length: 80 }, (_, i) => ev('reply', `u${i}`, 'a', { post: `a-p${i % 10}` }))];

    it('with no new activity a score falls, halving its decaying parts every half-life', () => {
      const m = model(history);
      const now = m.score('a', T0);
      const later = m.score('a', T0 + 30 * DAY_MS);
      expect(later.raw.engagement / now.raw.engagement).toBeCloseTo(0.5, 9);
      expect(later.score).toBeLessThan(now.score);
      const week = model(history, modelParams(7));
      expect(week.score('a', T0 + 7 * DAY_MS).raw.engagement / week.score('a', T0).raw.engagement).toBeCloseTo(0.5, 9);
    });

    it('fresh engagement lifts it again', () => {
      const later = T0 + 30 * DAY_MS;
      const idle = model(history).score('a', later);
      const fresh = model([...history, ...Array.from({ length: 40 }, (_, i) => ev('reply', `n${i}`, 'a', { post: 'a-p0', ts: later }))]).score('a', later);
      expect(fresh.score).toBeGreaterThan(idle.score);
    });

    it('follows raise reach and unfollows lower it', () => {
      const base = [ev('profile', 'a', undefined, { followers: 5000 })];
      const r0 = model(base).score('a').raw.reach;
      expect(model([...base, ...Array.from({ length: 300 }, (_, i) => ev('follow', `f${i}`, 'a'))]).score('a').raw.reach).toBe(r0 + 300);
      expect(model([...base, ...Array.from({ length: 300 }, (_, i) => ev('unfollow', `f${i}`, 'a'))]).score('a').raw.reach).toBe(r0 - 300);
    });
  });

  it('10. Explainable: the score is the documented blend of named components, each 0–100', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 60 }), (raw) => {
        const m = model(raw.map(toEvent));
        for (const id of m.state.accounts.keys()) {
          const r = m.score(id, NOW);
          expect(Object.keys(r.components).sort()).toEqual(Object.keys(COMPONENT_WEIGHTS).sort());
          for (const v of Object.values(r.components)) {
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(100);
          }
          const recomputed = blend(Object.fromEntries(Object.entries(r.raw).map(([c, x]) => [c, scaled(x, SCALES[c as keyof typeof SCALES])])) as never);
          expect(recomputed).toBe(r.score);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('11. Deterministic: any order and any cut into batches give the same scores', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), fc.array(fc.nat({ max: 59 }), { maxLength: 4 }), (raw, perm, cuts) => {
        const events = raw.map(toEvent);
        const shuffled = [...events];
        perm.forEach((p, i) => {
          const j = p % shuffled.length;
          const k = i % shuffled.length;
          [shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!];
        });
        const once = model(events);
        const batched = model([]);
        const bounds = [0, ...[...new Set(cuts)].sort((a, b) => a - b).filter((c) => c < shuffled.length), shuffled.length];
        for (let i = 0; i + 1 < bounds.length; i++) batched.add(shuffled.slice(bounds[i], bounds[i + 1]));
        for (const id of once.state.accounts.keys()) {
          const a = once.score(id, NOW);
          const b = batched.score(id, NOW);
          expect(Math.abs(a.score - b.score)).toBeLessThanOrEqual(0.1);
          expect(b.topics.map((t) => t.topic)).toEqual(a.topics.map((t) => t.topic));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('12. Accounts combine: an entity scores at least as high as its best account', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 80 }), fc.subarray(handles, { minLength: 1 }), (raw, members) => {
        const m = model(raw.map(toEvent));
        const present = members.filter((h) => m.state.accounts.has(`x:${h}`));
        if (present.length === 0) return;
        const entity = m.score(present, NOW).score;
        for (const h of present) expect(entity).toBeGreaterThanOrEqual(m.score(h, NOW).score);
      }),
      { numRuns: 200 },
    );
  });

  it('13. Incremental: a batch touches only the accounts its events name', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 50 }), (raw) => {
        const events = raw.map(toEvent);
        const named = new Set(events.flatMap((e) => [accountId(e.network, e.actor), ...(e.target ? [accountId(e.network, e.target)] : [])]));
        for (const id of aggregate(events, P).keys()) expect(named.has(id)).toBe(true);
      }),
    );
  });
});
