/** The plain WebSocket transport skips a backed-up socket instead of queueing for it. */
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { MAX_BUFFERED_BYTES, wsTransport } from '../../server/push/ws.js';

function socket(bufferedAmount: number, readyState = 1) {
  const sent: string[] = [];
  return { sent, ws: { OPEN: 1, readyState, bufferedAmount, send: (f: string) => sent.push(f) } as unknown as WebSocket };
}

describe('WebSocket transport', () => {
  it('sends one encoded frame to every open socket that keeps up, and skips the backed-up and the closed', () => {
    const fast = socket(0);
    const slow = socket(MAX_BUFFERED_BYTES + 1);
    const closed = socket(0, 3);
    const t = wsTransport(new Map([['entity:x:a', new Set([fast.ws, slow.ws, closed.ws])]]));
    t.send('entity:x:a', 7, { score: 5 });
    t.send('entity:x:b', 1, { score: 1 });
    expect(fast.sent).toEqual([JSON.stringify({ type: 'update', channel: 'entity:x:a', seq: 7, data: { score: 5 } })]);
    expect(slow.sent).toEqual([]);
    expect(closed.sent).toEqual([]);
    expect(t.count('entity:x:a')).toBe(3);
    expect([...t.channels()]).toEqual(['entity:x:a']);
  });
});
