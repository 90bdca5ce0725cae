/**
 * socket.io on Fastify's own port, namespace `/live`: subscribe with an ack
 * carrying the snapshot and its seq, then `update` events for the room.
 *
 * The upgrade trap (DESIGN.md): @fastify/websocket routes every `upgrade`
 * through Fastify's router, which answers 404 for `/socket.io/`. So the
 * server keeps one `upgrade` listener that hands socket.io's path to
 * engine.io and everything else to @fastify/websocket.
 */
import fp from 'fastify-plugin';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, type Namespace } from 'socket.io';
import { LIVE_NAMESPACE, parseChannel, type ClientToServerEvents, type ServerToClientEvents, type SubscribeAck } from '../../shared/live.js';
import type { LiveHub, Transport } from './hub.js';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type LiveNamespace = Namespace<ClientToServerEvents, ServerToClientEvents>;

declare module 'fastify' {
  interface FastifyInstance {
    io: Server<ClientToServerEvents, ServerToClientEvents>;
  }
}

export const SOCKET_IO_PATH = '/socket.io/';

/** Packets queued on a socket beyond which it is skipped until it drains (it then sees the seq gap and resyncs). */
export const MAX_QUEUED_PACKETS = 32;

export function socketIoTransport(nsp: LiveNamespace): Transport {
  /** Sockets of a room whose connection is backed up. */
  const slowIn = (channel: string): string[] => {
    const out: string[] = [];
    for (const id of nsp.adapter.rooms.get(channel) ?? []) {
      const conn = nsp.sockets.get(id)?.conn as { writeBuffer?: unknown[] } | undefined;
      if ((conn?.writeBuffer?.length ?? 0) > MAX_QUEUED_PACKETS) out.push(id);
    }
    return out;
  };
  return {
    count: (channel) => nsp.adapter.rooms.get(channel)?.size ?? 0,
    // Every socket also sits in a room named by its id; channels are the rooms that parse as one.
    channels: () => [...nsp.adapter.rooms.keys()].filter((room) => parseChannel(room) !== null),
    send: (channel, seq, data) => {
      // Encoded once for the room; backed-up sockets are left out rather than queued without bound.
      const slow = slowIn(channel);
      const room = slow.length > 0 ? nsp.to(channel).except(slow) : nsp.to(channel);
      (channel === 'ticker' ? room.volatile : room).emit('update', { channel, seq, data });
    },
  };
}

export default fp<{ hub: LiveHub }>(
  async (app, { hub }) => {
    const server = app.server;
    const others = server.listeners('upgrade') as UpgradeListener[];
    server.removeAllListeners('upgrade');
    // While closing, new connections are refused: clients reconnect at once after a server disconnect.
    let closing = false;
    const io = new Server<ClientToServerEvents, ServerToClientEvents>(server, {
      path: SOCKET_IO_PATH,
      serveClient: false,
      allowRequest: (_req, done) => done(closing ? 'closing' : null, !closing),
    });
    const engine = server.listeners('upgrade') as UpgradeListener[];
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const to = req.url?.startsWith(SOCKET_IO_PATH) ? engine : others;
      for (const l of to) l.call(server, req, socket, head);
    });
    app.decorate('io', io);

    const nsp = io.of(LIVE_NAMESPACE);
    hub.addTransport(socketIoTransport(nsp));
    nsp.on('connection', (socket) => {
      socket.on('subscribe', (channel, ack) => {
        if (typeof ack !== 'function') return;
        const reply = (res: SubscribeAck) => ack(res);
        if (!parseChannel(channel)) {
          reply({ ok: false, error: { code: 'invalid_channel', message: `not a channel: ${String(channel).slice(0, 100)}` } });
          return;
        }
        void socket.join(channel);
        hub.snapshot(channel).then(
          ({ seq, data }) => reply({ ok: true, seq, snapshot: data }),
          (err: unknown) => {
            app.log.warn({ err, channel }, 'live snapshot failed');
            void socket.leave(channel);
            reply({ ok: false, error: { code: 'unavailable', message: 'the channel state could not be read; try again' } });
          },
        );
      });
      socket.on('unsubscribe', (channel) => {
        if (typeof channel === 'string') void socket.leave(channel);
      });
    });

    app.addHook('preClose', async () => {
      closing = true;
      io.disconnectSockets(true);
      // io.close() would also close the HTTP server, which Fastify closes itself.
      io.engine.close();
    });
  },
  { name: 'socketio', dependencies: ['@fastify/websocket'] },
);
