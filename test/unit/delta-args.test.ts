/** What APPLY is sent for a batch: first sights the ingest stamp (`f`) shows are not earlier are left out. */
import { describe, expect, it } from 'vitest';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { modelParams } from '../../server/score/model.js';
import { deltaArgs } from '../../server/score/store.js';

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
    expect(args).toHaveLength(3);
  });
});
