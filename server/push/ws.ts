/**
 * The plain WebSocket endpoint for widgets: `GET /ws/live?channel=<channel>`
 * sends a snapshot frame, then update frames. A client whose socket is backed
 * up is skipped (it holds the latest full state on the next update and sees
 * the seq gap), so no queue grows without bound.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import { LIVE_WS_PATH, parseChannel, type LiveFrame } from '../../shared/live.js';
import type { LiveHub, Transport } from './hub.js';

/** Bytes queued on a socket beyond which updates are skipped until it drains. */
export const MAX_BUFFERED_BYTES = 1 << 20;

export function wsTransport(subs: Map<string, Set<WebSocket>>): Transport {
  return {
    count: (channel) => subs.get(channel)?.size ?? 0,
    channels: () => subs.keys(),
    send: (channel, seq, data) => {
      const set = subs.get(channel);
      if (!set) return;
      const frame = JSON.stringify({ type: 'update', channel, seq, data } satisfies LiveFrame);
      for (const ws of set) if (ws.readyState === ws.OPEN && ws.bufferedAmount < MAX_BUFFERED_BYTES) ws.send(frame);
    },
  };
}

const wsLive: FastifyPluginAsync<{ hub: LiveHub }> = async (app, { hub }) => {
  const subs = new Map<string, Set<WebSocket>>();
  hub.addTransport(wsTransport(subs));

  app.get<{ Querystring: { channel?: string } }>(
    LIVE_WS_PATH,
    { websocket: true, schema: { hide: true } },
    (socket, req) => {
      const channel = req.query.channel ?? '';
      if (!parseChannel(channel)) {
        const frame: LiveFrame = { type: 'error', error: { code: 'invalid_channel', message: `not a channel: ${channel.slice(0, 100)}` } };
        socket.send(JSON.stringify(frame));
        socket.close(1008, 'invalid channel');
        return;
      }
      let open = true;
      socket.on('close', () => {
        open = false;
        const set = subs.get(channel);
        set?.delete(socket);
        if (set?.size === 0) subs.delete(channel);
      });
      // Registered only once the snapshot is sent, so the snapshot is always the first frame.
      hub.snapshot(channel).then(
        ({ seq, data }) => {
          if (!open) return;
          socket.send(JSON.stringify({ type: 'snapshot', channel, seq, data } satisfies LiveFrame));
          let set = subs.get(channel);
          if (!set) subs.set(channel, (set = new Set()));
          set.add(socket);
        },
        (err: unknown) => {
          req.log.warn({ err, channel }, 'live snapshot failed');
          socket.close(1011, 'snapshot unavailable');
        },
      );
    },
  );

  app.addHook('onClose', async () => {
    for (const set of subs.values()) for (const ws of set) ws.terminate();
  });
};

export default wsLive;
