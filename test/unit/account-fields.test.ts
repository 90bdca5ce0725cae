/** An account hash as the score store reads it: HGETALL's flat list of fields and values (`parseAccountFields`). */
import { describe, expect, it } from 'vitest';
import { parseAccount, parseAccountFields } from '../../server/score/score.js';

describe('parseAccountFields', () => {
  it('reads the state fields and each topic, and skips the record fields', () => {
    const hash = {
      first: '1000', last: '2000', name: 'Ada', f: '120', nf: '-2', E: '3.5', A: '1.25', O: '2', K: '3', N: '7', D: '5',
      't:ai': '4|2|3|1|60.5|20784,20785', 't:music': '1|1', s: '41.2', scopes: 'topic:ai', hs: '1:2;3:4', c: '1,2,3,4,5', u: '2000',
    };
    const got = parseAccountFields('x:ada', Object.entries(hash).flat());
    expect(got).toEqual({
      id: 'x:ada', name: 'Ada', followers: 120, follows: -2, E: 3.5, A: 1.25, O: 2, K: 3, N: 7, D: 5, last: 2000, first: 1000,
      topics: { ai: { posts: 4, days: 2, engagers: 3, endorsers: 1, value: 60.5 }, music: { posts: 1, days: 1, engagers: 0, endorsers: 0, value: 0 } },
    });
    expect(parseAccount('x:ada', hash)).toEqual(got);
    // Missing fields are 0 (or no name), unreadable numbers too.
    expect(parseAccountFields('x:new', ['first', '5', 'E', 'nonsense'])).toMatchObject({ name: null, first: 5, E: 0, followers: 0, topics: {} });
  });

  it('takes a topic named like an Object property as a topic like any other, in either layout, and touches no global', () => {
    // 'constructor' is a valid topic slug; versions before 0.10 kept a topic in a field per part.
    const now = parseAccountFields('x:a', ['t:constructor', '2|1|3||9.5']);
    expect(now.topics.constructor).toEqual({ posts: 2, days: 1, engagers: 3, endorsers: 0, value: 9.5 });
    const before = parseAccountFields('x:b', ['tv:constructor', '9.5', 'tp:constructor', '2', 'td:constructor', '1', 'te:constructor', '3']);
    expect(before.topics.constructor).toEqual({ value: 9.5, posts: 2, days: 1, engagers: 3, endorsers: 0 });
    expect((Object as unknown as Record<string, unknown>).value).toBeUndefined();
    expect((Object as unknown as Record<string, unknown>).posts).toBeUndefined();
  });
});
