import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../shared/event.js';
import { validateEvent } from '../../shared/validate.js';
import { Simulator, prng } from '../../server/ingest/demo.js';

const NOW = Date.UTC(2026, 10, 25);

describe('demo simulator', () => {
  it('is seeded: the same seed gives the same population and activity', () => {
    const strip = (s: Simulator) => s.next(500, NOW).map(({ id: _id, post: _post, ...rest }) => rest);
    expect(new Simulator({ seed: 3, accounts: 300 }).accounts).toEqual(new Simulator({ seed: 3, accounts: 300 }).accounts);
    expect(strip(new Simulator({ seed: 3, accounts: 300 }))).toEqual(strip(new Simulator({ seed: 3, accounts: 300 })));
    expect(new Simulator({ seed: 4, accounts: 300 }).accounts).not.toEqual(new Simulator({ seed: 3, accounts: 300 }).accounts);
    expect(prng(1)()).toBe(prng(1)());
  });

  it('makes a believable population: heavy-tailed audiences, people and brands, topics', () => {
    const { accounts } = new Simulator({ seed: 42, accounts: 5000 });
    const followers = accounts.map((a) => a.followers).sort((a, b) => a - b);
    const median = followers[2500]!;
    const p99 = followers[4950]!;
    // Heavy tail: the top percent has audiences orders of magnitude above the median.
    expect(median).toBeGreaterThan(50);
    expect(median).toBeLessThan(500);
    expect(p99 / median).toBeGreaterThan(20);
    expect(followers.at(-1)).toBeGreaterThan(1_000_000);
    const brands = accounts.filter((a) => a.kind === 'brand').length / accounts.length;
    expect(brands).toBeGreaterThan(0.1);
    expect(brands).toBeLessThan(0.3);
    for (const a of accounts) expect(a.topics.length).toBeGreaterThanOrEqual(1);
    expect(new Set(accounts.map((a) => a.network)).size).toBeGreaterThanOrEqual(5);
  });

  it('emits only valid schema v1 events, of every type, with unique ids', () => {
    const sim = new Simulator({ seed: 9, accounts: 1000 });
    const events = [...sim.profiles(NOW), ...sim.next(20_000, NOW)];
    const seen = new Set<string>();
    for (const e of events) {
      const r = validateEvent(e, NOW);
      expect(r.ok, JSON.stringify(e)).toBe(true);
      expect(seen.has(e.id)).toBe(false);
      seen.add(e.id);
    }
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    expect(events.filter((e) => e.type !== 'profile' && e.actor === e.target)).toEqual([]);
  });

  it('has bursts: some posts draw far more engagement than the typical one', () => {
    const sim = new Simulator({ seed: 11, accounts: 2000 });
    const perPost = new Map<string, number>();
    for (const e of sim.next(50_000, NOW)) if (e.post && e.type !== 'post') perPost.set(e.post, (perPost.get(e.post) ?? 0) + 1);
    const counts = [...perPost.values()].sort((a, b) => a - b);
    const median = counts[Math.floor(counts.length / 2)]!;
    expect(counts.at(-1)! / median).toBeGreaterThan(5);
  });
});
