/**
 * Live protocol (CONTRACT.md §4): channel names, frames and the socket.io
 * event maps, shared by the server and the web client.
 */
import { SCOPE_PATTERN, type Entity, type Leaderboard } from './api.js';

/** How many leaderboard entries a `leaderboard:<scope>` channel carries. */
export const LIVE_LEADERBOARD_SIZE = 100;
/** A channel publishes at most this many updates per second. */
export const MAX_UPDATES_PER_SECOND = 10;
export const LIVE_NAMESPACE = '/live';
export const LIVE_WS_PATH = '/ws/live';

export type Channel = `entity:${string}` | `leaderboard:${string}` | 'ticker';

export interface TickerItem {
  id: string;
  name: string;
  score: number;
  delta: number;
}

/** What each kind of channel carries, as a snapshot and in every update (latest state wins). */
export type ChannelData<C extends string> = C extends `entity:${string}`
  ? Entity
  : C extends `leaderboard:${string}`
    ? Leaderboard
    : C extends 'ticker'
      ? { items: TickerItem[] }
      : unknown;

export interface UpdateMessage<D = unknown> {
  channel: string;
  /** Grows by one per channel; a client that sees a gap subscribes again. */
  seq: number;
  data: D;
}

export type SubscribeAck<D = unknown> =
  | { ok: true; seq: number; snapshot: D }
  | { ok: false; error: { code: string; message: string } };

export interface ClientToServerEvents {
  subscribe: (channel: string, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (channel: string) => void;
}

export interface ServerToClientEvents {
  update: (msg: UpdateMessage) => void;
}

/** Frames of the plain WebSocket endpoint `/ws/live?channel=`. */
export type LiveFrame<D = unknown> =
  | { type: 'snapshot'; channel: string; seq: number; data: D }
  | { type: 'update'; channel: string; seq: number; data: D }
  | { type: 'error'; error: { code: string; message: string } };

/** Answers of the streaming ingest endpoint `/ws/ingest`, one per frame, in order. */
export type IngestAck =
  | { type: 'ack'; accepted: number; duplicates: number; rejected: { index: number; code: string; message: string }[] }
  | { type: 'error'; error: { code: string; message: string } };

const ENTITY_ID = /^[^\s]{1,200}$/;
const SCOPE = new RegExp(SCOPE_PATTERN);

/** Parses a channel name; `null` when it names no channel. */
export function parseChannel(
  name: unknown,
): { kind: 'entity'; id: string } | { kind: 'leaderboard'; scope: string } | { kind: 'ticker' } | null {
  if (typeof name !== 'string') return null;
  if (name === 'ticker') return { kind: 'ticker' };
  if (name.startsWith('entity:')) {
    const id = name.slice('entity:'.length);
    return ENTITY_ID.test(id) ? { kind: 'entity', id } : null;
  }
  if (name.startsWith('leaderboard:')) {
    const scope = name.slice('leaderboard:'.length);
    return SCOPE.test(scope) ? { kind: 'leaderboard', scope } : null;
  }
  return null;
}

export type { Entity, Leaderboard };
