/** Top posts for /explain, found in an account's post hash: a post's value is Σ (sum)^β over its engagement and amplification sums. */
import { describe, expect, it } from 'vitest';
import { POST_CONCAVITY } from '../../server/score/model.js';
import { topPosts } from '../../server/score/reads.js';

describe('topPosts', () => {
  it('ranks posts by the β-th powers of their sums, ignores topics and empty posts, and keeps the top n', () => {
    expect(POST_CONCAVITY).toBe(0.5);
    const hash = {
      'e|p1': '16', // 4
      'a|p1': '9', // + 3 = 7
      'e|p2': '25', // 5
      'a|p3': '36', // 6 (amplification only)
      'e|-': '4', // 2: engagement without a post id, pooled
      't|p1': 'cats,dogs',
      't|p4': 'cats', // tagged, never engaged: no value
      'e|p5': '0',
    };
    expect(topPosts(hash, 10)).toEqual([
      { value: 'p1', score: 7 },
      { value: 'p3', score: 6 },
      { value: 'p2', score: 5 },
      { value: '-', score: 2 },
    ]);
    expect(topPosts(hash, 2).map((p) => p.value)).toEqual(['p1', 'p3']);
    expect(topPosts({}, 5)).toEqual([]);
  });
});
