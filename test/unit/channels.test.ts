/** Live channel names: the top-N leaderboard channels beside the contract's ones. */
import { describe, expect, it } from 'vitest';
import { leaderboardChannel, LIVE_LEADERBOARD_SIZE, parseChannel } from '../../shared/live.js';
import { boardChannel } from '../../web/src/embed/live.js';

describe('channel names', () => {
  it('parses entity, ticker, full and top-N leaderboard channels', () => {
    expect(parseChannel('ticker')).toEqual({ kind: 'ticker' });
    expect(parseChannel('entity:x:mashable')).toEqual({ kind: 'entity', id: 'x:mashable' });
    // Any handle the API accepts, spaces and newlines included.
    for (const id of ['x:a b', 'x:new\nline', 'x: ', `x:${'h'.repeat(100)}`, 'bluesky:did:plc:abc', 'x:😀']) expect(parseChannel(`entity:${id}`)).toEqual({ kind: 'entity', id });
    expect(parseChannel('entity:')).toBeNull();
    expect(parseChannel(`entity:${'x'.repeat(201)}`)).toBeNull();
    expect(parseChannel('leaderboard:global')).toEqual({ kind: 'leaderboard', scope: 'global', limit: LIVE_LEADERBOARD_SIZE });
    expect(parseChannel('leaderboard:topic:ai:top5')).toEqual({ kind: 'leaderboard', scope: 'topic:ai', limit: 5 });
    expect(parseChannel('leaderboard:kind:brand:top100')).toEqual({ kind: 'leaderboard', scope: 'kind:brand', limit: 100 });
    // A topic may be named like the suffix: without a scope before it, it is the topic.
    expect(parseChannel('leaderboard:topic:top5')).toEqual({ kind: 'leaderboard', scope: 'topic:top5', limit: 100 });
    expect(parseChannel('leaderboard:topic:top5:top3')).toEqual({ kind: 'leaderboard', scope: 'topic:top5', limit: 3 });
    for (const bad of ['leaderboard:global:top0', 'leaderboard:global:top101', 'leaderboard:global:top05', 'leaderboard:global:top', 'leaderboard:nowhere:top5', 'leaderboard:', 'board:global', 42]) {
      expect(parseChannel(bad), String(bad)).toBeNull();
    }
  });

  it('names a board of N rows the same way on the server and in the embeds', () => {
    for (const scope of ['global', 'topic:ai', 'network:x', 'kind:person']) {
      for (const limit of [1, 5, 20, 99, 100, 500]) {
        const name = leaderboardChannel(scope, limit);
        expect(boardChannel(scope, limit)).toBe(name);
        expect(parseChannel(name)).toEqual({ kind: 'leaderboard', scope, limit: Math.min(limit, LIVE_LEADERBOARD_SIZE) });
      }
    }
    expect(leaderboardChannel('global')).toBe('leaderboard:global');
  });
});
