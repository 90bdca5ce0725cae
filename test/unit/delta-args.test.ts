/** What APPLY is sent for a batch: first sights the ingest stamp (`f`) shows are not earlier are left out. */
import { describe, expect, it } from 'vitest';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { modelParams } from '../../server/score/model.js';
import { deltaArgs } from '../../server/score/apply-args.js';

const P = modelParams(30);
const like = (id: string, actor: string, ts: number, f?: number): StreamEvent => ({ id, network: 'x', type: 'like', actor, target: 'star', post: 'p1', ts, ...(f === undefined ? {} : { f }) });

describe('deltaArgs', () => {
  it('sends a first sight only when it may be earlier than the stored one', () => {
    const args = deltaArgs(
      aggregate(
        [
          like('1', 'known', 2000, 1000), // stored first 1000 ≤ 2000: nothing to say
          like('2', 'known', 1500, 1200), // still ≥ the earliest stamp (1000)
          like('3', 'earlier', 500, 1000), // seen before the stored first: sent
          like('4', 'unknown', 700), // no stamp (a new actor): sent
          like('5', 'stale', 900, 900), // equal: nothing to say
        ],
        P,
      ).values(),
    );
    const touches = args.filter((a) => a.startsWith('T|')).sort();
    expect(touches).toEqual(['T|x:earlier|500', 'T|x:unknown|700']);
    // The engaged account's delta goes as JSON, without the stamp.
    const star = args.find((a) => a.startsWith('{'))!;
    expect(JSON.parse(star)).toMatchObject({ id: 'x:star', received: 5 });
    expect(star).not.toContain('knownFirst');
    // What it does not change is left out: APPLY takes a missing list or map as empty, an amount as 0.
    expect(Object.keys(JSON.parse(star)).sort()).toEqual(['engagerWeights', 'engagers', 'first', 'id', 'last', 'posts', 'received']);
    expect(args).toHaveLength(3);
  });

  it('sends engagers by handle, the account\'s network left out, whatever the handle', () => {
    const args = deltaArgs(aggregate([like('1', 'fan', 1000), like('2', '__proto__', 1000), like('3', 'did:plc:q', 1000)], P).values());
    const star = JSON.parse(args.find((a) => a.startsWith('{'))!);
    expect(Object.keys(star.engagerWeights).sort()).toEqual(['__proto__', 'did:plc:q', 'fan']);
    expect(Object.values(star.engagerWeights).every((w) => typeof w === 'number' && w > 0)).toBe(true);
  });

  it('sends a non-finite amount as 0 (JSON has no Infinity, and a null would fail the batch for ever), and leaves text alone', () => {
    const deltas = aggregate([like('1', 'fan', 1000), { id: '2', network: 'x', type: 'profile', actor: 'star', name: 'null and void', followers: 10, ts: 1000 }], P);
    const star = deltas.get('x:star')!;
    star.outcomes = Infinity;
    star.posts.p1!.e = NaN;
    const sent = JSON.parse(deltaArgs([star])[0]!);
    expect(sent.outcomes).toBe(0);
    expect(sent.posts.p1.e).toBe(0);
    expect(sent.name.value).toBe('null and void');
    // The same delta, finite, goes as it is.
    star.outcomes = 2.5;
    star.posts.p1!.e = 1.25;
    expect(JSON.parse(deltaArgs([star])[0]!)).toMatchObject({ outcomes: 2.5, posts: { p1: { e: 1.25 } }, name: { value: 'null and void' } });
  });
});
