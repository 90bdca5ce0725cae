/**
 * Live protocol (CONTRACT.md §4): channel names, frames and the socket.io
 * event maps, shared by the server and the web client.
 */
import { SCOPE_PATTERN, type Entity, type Leaderboard } from './api.js';

/** How many leaderboard entries a `leaderboard:<scope>` channel carries; `leaderboard:<scope>:top<N>` carries N (1 to this). */
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

/** An entity or account id: any text (a handle may hold spaces and newlines), as the API reads it; an account id is at most 133 characters. */
const ENTITY_ID = /^[\s\S]{1,200}$/;
const SCOPE = new RegExp(SCOPE_PATTERN);

const TOP = /^(.*):top([1-9][0-9]{0,2})$/;

/** The channel of the top `limit` of a scope: `leaderboard:<scope>`, or `leaderboard:<scope>:top<N>` below the full size. */
export function leaderboardChannel(scope: string, limit = LIVE_LEADERBOARD_SIZE): `leaderboard:${string}` {
  return limit >= LIVE_LEADERBOARD_SIZE ? `leaderboard:${scope}` : `leaderboard:${scope}:top${Math.max(1, Math.floor(limit))}`;
}

/**
 * Parses a channel name; `null` when it names no channel. A leaderboard
 * channel carries the top `limit` entries of its scope: 100, or N for
 * `leaderboard:<scope>:top<N>` (1 ≤ N ≤ 100; a topic may itself be named
 * `top5`, so `leaderboard:topic:top5` is that topic's top 100).
 */
export function parseChannel(
  name: unknown,
): { kind: 'entity'; id: string } | { kind: 'leaderboard'; scope: string; limit: number } | { kind: 'ticker' } | null {
  if (typeof name !== 'string') return null;
  if (name === 'ticker') return { kind: 'ticker' };
  if (name.startsWith('entity:')) {
    const id = name.slice('entity:'.length);
    return ENTITY_ID.test(id) ? { kind: 'entity', id } : null;
  }
  if (name.startsWith('leaderboard:')) {
    const rest = name.slice('leaderboard:'.length);
    const top = TOP.exec(rest);
    if (top && SCOPE.test(top[1]!) && Number(top[2]) <= LIVE_LEADERBOARD_SIZE) return { kind: 'leaderboard', scope: top[1]!, limit: Number(top[2]) };
    return SCOPE.test(rest) ? { kind: 'leaderboard', scope: rest, limit: LIVE_LEADERBOARD_SIZE } : null;
  }
  return null;
}

export type { Entity, Leaderboard };
