import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareStreamIds, decodeEntries, microBatch, skipApplied, type DecodedEntry } from '../../server/pipeline/operators.js';
import { channelsOf, coalescePerChannel } from '../../server/push/hub.js';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS, PACE_HIGH, PACE_LOW, PACE_UP, PublishPace } from '../../server/push/pace.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const ev = (id: string): DecodedEntry => ({ id, event: { id, network: 'x', type: 'post', actor: 'a', ts: 1 } });

describe('pipeline operators', () => {
  it('decodeEntries parses each entry and turns an unreadable one into an empty entry, keeping its id', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-b|', { a: { id: '1-0', json: '{"id":"e"}' }, b: { id: '2-0', json: '{oops' } });
      expectObservable(src.pipe(decodeEntries())).toBe('a-b|', {
        a: { id: '1-0', event: { id: 'e' } },
        b: { id: '2-0', event: null },
      });
    });
  });

  it('microBatch cuts at the size bound at once, and at the time bound otherwise', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abc 30ms d|', { a: ev('1-0'), b: ev('2-0'), c: ev('3-0'), d: ev('4-0') });
      // Size 2: [a,b] as soon as b arrives; [c] when 10 ms pass; [d] at completion.
      expectObservable(src.pipe(microBatch(2, 10))).toBe('-x 9ms y 22ms (z|)', {
        x: { ids: ['1-0', '2-0'], first: '1-0', last: '2-0', events: [ev('1-0').event, ev('2-0').event] },
        y: { ids: ['3-0'], first: '3-0', last: '3-0', events: [ev('3-0').event] },
        z: { ids: ['4-0'], first: '4-0', last: '4-0', events: [ev('4-0').event] },
      });
    });
  });

  it('microBatch emits nothing for quiet periods', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<DecodedEntry>('100ms |');
      expectObservable(src.pipe(microBatch(10, 10))).toBe('100ms |');
    });
  });

  it('skipApplied blanks entries at or below the watermark so they are only acknowledged', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abc|', { a: ev('5-0'), b: ev('5-1'), c: ev('6-0') });
      expectObservable(src.pipe(skipApplied(() => '5-1'))).toBe('abc|', {
        a: { id: '5-0', event: null },
        b: { id: '5-1', event: null },
        c: ev('6-0'),
      });
    });
  });

  it('compareStreamIds orders by milliseconds, then sequence, numerically', () => {
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareStreamIds('10-10', '10-10')).toBe(0);
    expect(compareStreamIds('', '0-1')).toBeLessThan(0);
    expect(compareStreamIds('1700000000000-5', '')).toBeGreaterThan(0);
    // Against BigInt arithmetic on any ids Redis could write (no leading zeros, 64-bit parts).
    const part = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    fc.assert(
      fc.property(part, part, part, part, (am, as, bm, bs) => {
        const want = am !== bm ? (am < bm ? -1 : 1) : as !== bs ? (as < bs ? -1 : 1) : 0;
        expect(Math.sign(compareStreamIds(`${am}-${as}`, `${bm}-${bs}`))).toBe(want);
        expect(Math.sign(compareStreamIds(`${am}-${as}`, `${am}-${bs}`))).toBe(as === bs ? 0 : as < bs ? -1 : 1);
      }),
    );
  });
});

describe('live coalescing', () => {
  it('sends a channel’s first change at once and then at most one per interval, latest winning', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // Five changes to A within 100 ms, one to B.
      const src = cold('a 9ms a 9ms a 9ms b 9ms a 9ms a 200ms |', { a: 'A', b: 'B' });
      expectObservable(src.pipe(coalescePerChannel(100, undefined, 1000))).toBe('a 29ms b 69ms a 150ms |', { a: 'A', b: 'B' });
    });
  });

  it('reads the interval at each publish, so a slower pace applies from the next one', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const intervals = [100, 300];
      let n = 0;
      const src = cold('a 9ms a 199ms a 9ms a 500ms |', { a: 'A' });
      // 0: sent, window 100 (the change at 10 goes at 100, opening a window of 300); the changes at 210 and 220 go at 400, as one.
      expectObservable(src.pipe(coalescePerChannel(() => intervals[Math.min(n++, 1)]!, undefined, 1000))).toBe('a 99ms a 299ms a 320ms |', { a: 'A' });
    });
  });

  it('the publish pace slows while the event loop is saturated and comes back to 10 a second when it has room', () => {
    const pace = new PublishPace();
    expect(pace.interval).toBe(MIN_INTERVAL_MS);
    expect(pace.adjust(0.5)).toBe(MIN_INTERVAL_MS);
    expect(pace.adjust(0.95)).toBe(MIN_INTERVAL_MS * PACE_UP);
    // Between the two thresholds it holds.
    expect(pace.adjust((PACE_HIGH + PACE_LOW) / 2)).toBe(MIN_INTERVAL_MS * PACE_UP);
    for (let i = 0; i < 20; i++) pace.adjust(1);
    expect(pace.interval).toBe(MAX_INTERVAL_MS);
    for (let i = 0; i < 40; i++) pace.adjust(0.1);
    expect(pace.interval).toBe(MIN_INTERVAL_MS);
  });

  it('channelsOf names each entity once, plus the global leaderboard and the ticker', () => {
    expect(channelsOf([{ id: 'x:a', score: 2, prev: 1 }, { id: 'x:a', score: 3, prev: 2 }, { id: 'x:b', score: 5, prev: null }])).toEqual([
      'entity:x:a',
      'entity:x:b',
      'leaderboard:global',
      'ticker',
    ]);
    expect(channelsOf([])).toEqual([]);
    expect(channelsOf([{ id: 'x:a', score: 2, prev: 1 }], ['leaderboard:kind:brand', 'leaderboard:global'])).toEqual([
      'entity:x:a',
      'leaderboard:global',
      'leaderboard:kind:brand',
      'ticker',
    ]);
  });
});
