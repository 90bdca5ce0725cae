import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../shared/event.js';
import { aggregate, laterStamp, modelParams, scoreAccount, type AccountDelta, type AccountState, DAY_MS } from '../../server/score/model.js';

const P = modelParams(30);
const T0 = Date.UTC(2026, 5, 1);
let n = 0;
const e = (type: NormalizedEvent['type'], actor: string, target: string | undefined, ts = T0, extra: Partial<NormalizedEvent> = {}): NormalizedEvent => ({
  id: `e${n++}`,
  network: 'x',
  type,
  actor,
  ...(target ? { target } : {}),
  ts,
  ...extra,
});

/** Folds deltas into states, as the Redis apply does. */
const stamps = new WeakMap<AccountState, { value: number; ts: number }>();
function fold(deltas: Iterable<AccountDelta>, into = new Map<string, AccountState>()): Map<string, AccountState> {
  for (const d of deltas) {
    const s = into.get(d.id) ?? { eng: 0, follows: 0, last: 0, first: d.first, followers: 0 };
    s.eng += d.eng;
    s.follows += d.follows;
    s.last = Math.max(s.last, d.last);
    s.first = Math.min(s.first, d.first);
    const cur = stamps.get(s);
    if (d.followers && (!cur || laterStamp(cur, d.followers) === d.followers)) {
      stamps.set(s, d.followers);
      s.followers = d.followers.value;
    }
    into.set(d.id, s);
  }
  return into;
}
const scoreOf = (events: NormalizedEvent[], id: string) => scoreAccount(fold(aggregate(events, P).values()).get(id)!, P);

describe('first score model', () => {
  it('a new account with one post and a handful of likes scores under 15, and at least 1', () => {
    const events = [e('post', 'new', undefined), ...['a', 'b', 'c', 'd', 'e'].map((who) => e('like', who, 'new'))];
    const { score } = scoreOf(events, 'x:new');
    expect(score).toBeGreaterThanOrEqual(1);
    expect(score).toBeLessThan(15);
  });

  it('reproduces the worked example of docs/scoring.md', () => {
    const events = [e('post', 'new', undefined), ...['a', 'b', 'c', 'd', 'e'].map((who) => e('like', who, 'new'))];
    const state = fold(aggregate(events, P).values()).get('x:new')!;
    expect(scoreAccount(state, P)).toEqual({ score: 11.1, components: { reach: 0, engagement: 13.6 } });
    expect(scoreAccount({ ...state, last: state.last + 30 * DAY_MS }, P).score).toBe(7.5);
  });

  it('an account that only acted (liked someone) exists with the floor score', () => {
    expect(scoreOf([e('like', 'fan', 'star')], 'x:fan').score).toBe(1);
  });

  it('self-engagement counts for nothing', () => {
    const alone = [e('post', 'me', undefined)];
    const selfish = [...alone, e('like', 'me', 'me'), e('share', 'me', 'me'), e('follow', 'me', 'me'), e('endorse', 'me', 'me', T0, { topics: ['ai'] })];
    expect(scoreOf(selfish, 'x:me')).toEqual(scoreOf(alone, 'x:me'));
  });

  it('a reply weighs more than a like', () => {
    const likes = scoreOf([e('post', 'a', undefined), e('like', 'b', 'a')], 'x:a');
    const replies = scoreOf([e('post', 'a', undefined), e('reply', 'b', 'a')], 'x:a');
    expect(replies.score).toBeGreaterThan(likes.score);
  });

  it('follows raise reach and unfollows lower it', () => {
    const base = [e('profile', 'a', undefined, T0, { followers: 1000 })];
    const r0 = scoreOf(base, 'x:a').components.reach;
    const up = scoreOf([...base, ...Array.from({ length: 500 }, (_, i) => e('follow', `f${i}`, 'a'))], 'x:a').components.reach;
    const down = scoreOf([...base, ...Array.from({ length: 500 }, (_, i) => e('unfollow', `f${i}`, 'a'))], 'x:a').components.reach;
    expect(up).toBeGreaterThan(r0);
    expect(down).toBeLessThan(r0);
  });

  it('engagement decays with the half-life of event time: after 30 days without engagement it counts half', () => {
    const likes = Array.from({ length: 40 }, (_, i) => e('like', `u${i}`, 'a'));
    const fresh = fold(aggregate(likes, P).values()).get('x:a')!;
    const later = { ...fresh, last: fresh.last + 30 * DAY_MS };
    // Engagement value at `last`: eng / 2^((last-L)/H); 30 days later it is half.
    const valueAt = (s: AccountState) => s.eng / 2 ** ((s.last - P.landmarkMs) / P.halfLifeMs);
    expect(valueAt(later) / valueAt(fresh)).toBeCloseTo(0.5, 12);
    expect(scoreAccount(later, P).score).toBeLessThan(scoreAccount(fresh, P).score);
  });

  it('the latest profile snapshot wins, whatever the arrival order', () => {
    const a = e('profile', 'a', undefined, T0, { followers: 10, name: 'Old' });
    const b = e('profile', 'a', undefined, T0 + 1000, { followers: 5000, name: 'New' });
    for (const order of [[a, b], [b, a]]) {
      const d = aggregate(order, P).get('x:a')!;
      expect(d.followers).toEqual({ value: 5000, ts: T0 + 1000 });
      expect(d.name).toEqual({ value: 'New', ts: T0 + 1000 });
    }
  });

  it('any order and any cut into batches gives the same state and score', () => {
    const handles = ['a', 'b', 'c', 'd'];
    const arbEvent = fc.record({
      type: fc.constantFrom('post', 'reply', 'share', 'like', 'mention', 'follow', 'unfollow', 'click', 'conversion', 'endorse', 'profile'),
      actor: fc.constantFrom(...handles),
      target: fc.constantFrom(...handles),
      dt: fc.integer({ min: 0, max: 60 * DAY_MS }),
      followers: fc.integer({ min: 0, max: 1_000_000 }),
    });
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), fc.nat({ max: 10 }), (raw, perm, cut) => {
        const events = raw.map((r, i): NormalizedEvent => {
          const ts = T0 + r.dt;
          const id = `p${i}`;
          if (r.type === 'profile') return { id, network: 'x', type: 'profile', actor: r.actor, followers: r.followers, ts };
          if (r.type === 'post') return { id, network: 'x', type: 'post', actor: r.actor, ts };
          return { id, network: 'x', type: r.type, actor: r.actor, target: r.target, ts, ...(r.type === 'endorse' ? { topics: ['ai'] } : {}) };
        });
        const shuffled = [...events];
        perm.forEach((p, i) => {
          const j = p % shuffled.length;
          const k = i % shuffled.length;
          [shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!];
        });
        const at = Math.min(cut, shuffled.length);
        const once = fold(aggregate(events, P).values());
        const inTwo = fold(aggregate(shuffled.slice(at), P).values(), fold(aggregate(shuffled.slice(0, at), P).values()));
        expect([...inTwo.keys()].sort()).toEqual([...once.keys()].sort());
        for (const [id, s] of once) {
          const t = inTwo.get(id)!;
          expect(t.eng).toBeCloseTo(s.eng, 6);
          expect({ ...t, eng: 0 }).toEqual({ ...s, eng: 0 });
          expect(Math.abs(scoreAccount(t, P).score - scoreAccount(s, P).score)).toBeLessThanOrEqual(0.1);
        }
      }),
      { numRuns: 200 },
    );
  });
});
