/** The live hub sends an entity's state as its score write stored it, and reads the channel only when a change came without one. */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LiveHub, type Change, type Transport } from '../../server/push/hub.js';
import { MIN_INTERVAL_MS } from '../../server/push/pace.js';

function setup() {
  const reads: string[] = [];
  const sent: { channel: string; seq: number; data: unknown }[] = [];
  const watched = new Set(['entity:x:a', 'entity:x:b']);
  const transport: Transport = {
    count: (ch) => (watched.has(ch) ? 1 : 0),
    channels: () => watched,
    send: (channel, seq, data) => sent.push({ channel, seq, data }),
  };
  const hub = new LiveHub({
    entity: async (id) => {
      reads.push(id);
      return { id, read: true };
    },
    leaderboard: async () => ({ entries: [], total: 0 }),
    names: async (ids) => ids.map(() => null),
  });
  hub.addTransport(transport);
  const changes = new Subject<Change[]>();
  hub.start(changes);
  return { hub, changes, reads, sent };
}

const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('live hub', () => {
  it('sends the state a change stored without reading it, and reads when a change has none', async () => {
    const { hub, changes, reads, sent } = setup();
    try {
      changes.next([{ id: 'x:a', score: 12, prev: 10, entity: { id: 'x:a', score: 12 } }]);
      await settle();
      expect(sent.filter((s) => s.channel === 'entity:x:a')).toEqual([{ channel: 'entity:x:a', seq: 1, data: { id: 'x:a', score: 12 } }]);
      expect(reads).toEqual([]);

      // A later change without a state (a decay sweep's) is read, not answered with the older state.
      await settle(MIN_INTERVAL_MS + 20);
      changes.next([{ id: 'x:a', score: 11, prev: 12 }]);
      await settle();
      expect(sent.filter((s) => s.channel === 'entity:x:a').map((s) => s.data)).toEqual([{ id: 'x:a', score: 12 }, { id: 'x:a', read: true }]);
      expect(reads).toEqual(['x:a']);

      // Changes coalesced into one publish: the latest state goes.
      await settle(MIN_INTERVAL_MS + 20);
      changes.next([{ id: 'x:b', score: 1, prev: null, entity: { id: 'x:b', score: 1 } }]);
      changes.next([{ id: 'x:b', score: 2, prev: 1, entity: { id: 'x:b', score: 2 } }]);
      changes.next([{ id: 'x:b', score: 3, prev: 2, entity: { id: 'x:b', score: 3 } }]);
      await settle(MIN_INTERVAL_MS + 50);
      expect(sent.filter((s) => s.channel === 'entity:x:b').map((s) => [s.seq, s.data])).toEqual([
        [1, { id: 'x:b', score: 1 }],
        [2, { id: 'x:b', score: 3 }],
      ]);
      expect(reads).toEqual(['x:a']);

      // A new subscriber's snapshot reads, and leaves a pending state to its publish.
      expect(await hub.snapshot('entity:x:a')).toEqual({ seq: 2, data: { id: 'x:a', read: true } });
      expect(reads).toEqual(['x:a', 'x:a']);
    } finally {
      hub.stop();
    }
  });
});
