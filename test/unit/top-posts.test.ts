/** Top posts for /explain, found in an account's evidence hash: a post's value is Σ (sum)^β over its engagement and amplification sums. */
import { describe, expect, it } from 'vitest';
import { POST_CONCAVITY } from '../../server/score/model.js';
import { topPosts } from '../../server/score/reads.js';

describe('topPosts', () => {
  it('ranks posts by the β-th powers of their sums, ignores topics, days, endorsements and empty posts, and keeps the top n', () => {
    expect(POST_CONCAVITY).toBe(0.5);
    const hash = {
      'p|p1': '16|9|cats,dogs', // 4 + 3 = 7
      'p|p2': '25||', // 5
      'p|p3': '|36|', // 6 (amplification only)
      'p|-': '4||', // 2: engagement without a post id, pooled
      'p|p4': '||cats', // tagged, never engaged: no value
      'p|a|b': '1||', // a post id may hold '|': 1
      cats: '20780,20781', // days of the topic
      'k|20780|cats|x:someone': '1', // an endorsement
      'e|cats|x:someone': '1', // its endorser
    };
    expect(topPosts(hash, 10)).toEqual([
      { value: 'p1', score: 7 },
      { value: 'p3', score: 6 },
      { value: 'p2', score: 5 },
      { value: '-', score: 2 },
      { value: 'a|b', score: 1 },
    ]);
    expect(topPosts(hash, 2).map((p) => p.value)).toEqual(['p1', 'p3']);
    expect(topPosts({}, 5)).toEqual([]);
  });
});
