/**
 * Typed live client over socket.io (CONTRACT.md §4): one connection to the
 * `/live` namespace shared by every channel, and a `LiveChannel` per
 * subscription holding the latest state as Svelte `$state`.
 */
import { io, type Socket } from 'socket.io-client';
// Type-only on purpose: a value import of shared/live.ts drags TypeBox (via api.ts) into the bundle.
import type {
  Channel,
  ChannelData,
  ClientToServerEvents,
  LIVE_NAMESPACE,
  ServerToClientEvents,
  SubscribeAck,
  UpdateMessage,
} from '../../../shared/live.js';

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type LiveStatus = 'connecting' | 'live' | 'offline';
export interface LiveError {
  code: string;
  message: string;
}

// Checked against shared/live.ts, so a renamed namespace fails the type check.
const NAMESPACE: typeof LIVE_NAMESPACE = '/live';
const ACK_TIMEOUT_MS = 5_000;
const RETRY_MS = 2_000;
// Updates that race the subscribe ack are held until the snapshot lands; a burst longer than this is a gap anyway.
const MAX_PENDING = 64;

let shared: LiveSocket | null = null;

/** The one `/live` connection of this page, opened on first use. */
export function liveSocket(): LiveSocket {
  if (shared) return shared;
  const socket: LiveSocket = io(NAMESPACE, { transports: ['websocket'] });
  // socket.io gives up after a server-side disconnect; a dashboard must not.
  socket.on('disconnect', (reason) => {
    if (reason === 'io server disconnect') socket.connect();
  });
  shared = socket;
  return socket;
}

/**
 * The live state of one channel: snapshot first, then updates applied in
 * `seq` order; a gap asks for a fresh snapshot.
 *
 * @example
 * const board = new LiveChannel<Leaderboard>('leaderboard:global');
 * // read board.data, board.status in markup; call board.close() on teardown
 */
export class LiveChannel<T> {
  data = $state<T | null>(null);
  seq = $state(0);
  status = $state<LiveStatus>('connecting');
  /** `Date.now()` of the latest snapshot or update applied. */
  lastUpdate = $state<number | null>(null);
  error = $state<LiveError | null>(null);
  /**
   * Called with each new state (snapshot or update) and the one it replaces,
   * for views that keep a record of changes rather than only the latest state.
   */
  ondata: ((data: T, previous: T | null) => void) | null = null;

  readonly channel: string;
  readonly #socket: LiveSocket;
  // Bumped per subscribe so a late ack from an earlier attempt is dropped.
  #attempt = 0;
  #pending: UpdateMessage[] | null = null;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  // Not `data !== null`: an entity channel's snapshot is null until the entity exists, and its updates still count.
  #synced = false;

  constructor(channel: string, socket: LiveSocket = liveSocket()) {
    this.channel = channel;
    this.#socket = socket;
    socket.on('connect', this.#onConnect);
    socket.on('disconnect', this.#onOffline);
    socket.on('connect_error', this.#onOffline);
    socket.on('update', this.#onUpdate);
    if (socket.connected) this.#subscribe();
  }

  /** Leaves the channel and stops listening; the shared connection stays open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#attempt++;
    this.#pending = null;
    this.#socket.off('connect', this.#onConnect);
    this.#socket.off('disconnect', this.#onOffline);
    this.#socket.off('connect_error', this.#onOffline);
    this.#socket.off('update', this.#onUpdate);
    if (this.#socket.connected) this.#socket.emit('unsubscribe', this.channel);
    this.status = 'offline';
  }

  #onConnect = (): void => {
    // The server forgets rooms with the old connection, so every connect subscribes afresh.
    this.#subscribe();
  };

  #onOffline = (): void => {
    clearTimeout(this.#retry);
    this.#attempt++;
    this.#pending = null;
    this.status = 'offline';
  };

  #onUpdate = (msg: UpdateMessage): void => {
    if (msg.channel !== this.channel) return;
    if (this.#pending) {
      if (this.#pending.length < MAX_PENDING) this.#pending.push(msg);
      return;
    }
    if (this.#synced) this.#apply(msg);
  };

  #subscribe(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    const attempt = ++this.#attempt;
    this.#pending = [];
    if (this.status !== 'live') this.status = 'connecting';
    this.#socket.timeout(ACK_TIMEOUT_MS).emit('subscribe', this.channel, (err, res) => {
      if (attempt !== this.#attempt) return;
      if (err) return this.#retryLater();
      this.#onAck(res);
    });
  }

  #onAck(res: SubscribeAck): void {
    const held = this.#pending ?? [];
    this.#pending = null;
    if (!res.ok) {
      this.error = res.error;
      this.status = 'offline';
      return;
    }
    this.error = null;
    this.#synced = true;
    const previous = this.data;
    this.data = res.snapshot as T;
    this.seq = res.seq;
    this.lastUpdate = Date.now();
    this.status = 'live';
    this.ondata?.(res.snapshot as T, previous);
    held.sort((a, b) => a.seq - b.seq);
    for (const msg of held) {
      if (!this.#apply(msg)) break;
    }
  }

  /** Applies one update in order; false when it triggered a re-subscribe. */
  #apply(msg: UpdateMessage): boolean {
    if (msg.seq <= this.seq) return true;
    if (msg.seq > this.seq + 1) {
      this.#subscribe();
      return false;
    }
    const previous = this.data;
    this.data = msg.data as T;
    this.seq = msg.seq;
    this.lastUpdate = Date.now();
    this.ondata?.(msg.data as T, previous);
    return true;
  }

  #retryLater(): void {
    this.#pending = null;
    this.status = 'offline';
    this.#retry = setTimeout(() => {
      if (this.#socket.connected) this.#subscribe();
    }, RETRY_MS);
  }
}

/** A `LiveChannel` whose data type follows from the channel name. */
export function liveChannel<C extends Channel>(channel: C, socket?: LiveSocket): LiveChannel<ChannelData<C>> {
  return new LiveChannel<ChannelData<C>>(channel, socket);
}
