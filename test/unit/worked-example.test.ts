/** The worked example of docs/scoring.md, computed by the model: if this fails, the document is wrong. */
import { describe, expect, it } from 'vitest';
import { ev, model, T0 } from '../helpers/model.js';
import { DAY_MS } from '../../server/score/model.js';

describe('docs/scoring.md worked example', () => {
  it('x:ana scores 30.2', () => {
    const m = model([
      ev('profile', 'ana', undefined, { followers: 1200, name: 'Ana' }),
      ev('post', 'ana', undefined, { post: 'p1', topics: ['jazz'] }),
      ev('post', 'ana', undefined, { post: 'p2' }),
      ev('like', 'b', 'ana', { post: 'p1' }),
      ev('like', 'c', 'ana', { post: 'p1' }),
      ev('like', 'd', 'ana', { post: 'p1' }),
      ev('reply', 'e', 'ana', { post: 'p1' }),
      ev('share', 'f', 'ana', { post: 'p2' }),
      ev('click', 'g', 'ana', { post: 'p2' }),
      ev('click', 'h', 'ana', { post: 'p2' }),
      ev('conversion', 'i', 'ana', { post: 'p2', value: 99 }),
    ]);
    const r = m.score('ana', T0);
    expect(r.components).toEqual({ reach: 38.5, engagement: 13.4, amplification: 12.9, outcomes: 30.8, endorsements: 0 });
    expect(r.score).toBe(30.2);
    // One stray tagged post: no topic.
    expect(r.topics).toEqual([]);
    // Thirty days later, with nothing new.
    expect(m.score('ana', T0 + 30 * DAY_MS).score).toBe(24);
  });
});
