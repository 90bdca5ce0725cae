/**
 * Live state of one channel over the plain WebSocket endpoint
 * `/ws/live?channel=` (CONTRACT.md §4), for the embeds: no socket.io, no
 * framework. One socket per channel and server, shared by every watcher on
 * the page; snapshot first, then updates in `seq` order; a gap reconnects for
 * a fresh snapshot; a dropped socket reconnects with capped exponential
 * backoff while the last values stay on screen, marked stale.
 */
// Type-only on purpose: a value import of shared/live.ts drags TypeBox (via api.ts) into the bundle.
import type { Entity, Leaderboard, LeaderboardEntry } from '../../../shared/api.js';
import type { LIVE_WS_PATH, LiveFrame, leaderboardChannel } from '../../../shared/live.js';

// Checked against shared/live.ts, so a moved endpoint fails the type check.
const WS_PATH: typeof LIVE_WS_PATH = '/ws/live';

/**
 * The channel of a board's own top `limit` (`leaderboard:<scope>:top<N>`):
 * frames carry only its rows and come only when they move. The names of
 * shared/live.ts's `leaderboardChannel`, written here for the bundle's sake
 * (test/unit/channels.test.ts checks that the two agree).
 */
export const boardChannel: typeof leaderboardChannel = (scope, limit = 100) =>
  limit >= 100 ? `leaderboard:${scope}` : `leaderboard:${scope}:top${Math.max(1, Math.floor(limit))}`;

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** A socket that has not delivered its snapshot by then is given up and retried. */
const SNAPSHOT_TIMEOUT_MS = 10_000;
/** Frames larger than this are not parsed (a top-100 board is a few kB). */
const MAX_FRAME_CHARS = 2_000_000;

/**
 * `connecting`: the first attempt (or a resync after a seq gap) is under way;
 * `live`: the snapshot arrived and the socket is open;
 * `stale`: the socket failed or dropped (or the server refused the channel):
 * what is shown is the last known state.
 */
export type LiveStatus = 'connecting' | 'live' | 'stale';

export interface LiveError {
  code: string;
  message: string;
}

/** The part of an entity the badge shows, plus the change of its latest score move seen here. */
export interface EntityView extends Pick<Entity, 'id' | 'name' | 'score' | 'rank'> {
  /** Score change of the latest update that moved the score (0 until one is seen). */
  delta: number;
}

export type BoardEntry = Pick<LeaderboardEntry, 'rank' | 'id' | 'name' | 'score' | 'delta'>;

export interface BoardView extends Pick<Leaderboard, 'scope' | 'total'> {
  entries: BoardEntry[];
}

export interface LiveState<T> {
  status: LiveStatus;
  /** `seq` of the latest frame applied; `null` before the first snapshot. */
  seq: number | null;
  /** `false` until a snapshot with well-formed data has been applied. */
  ready: boolean;
  /** The latest state (`null` for an entity that is not scored yet); meaningful when `ready`. */
  data: T | null;
  /** Set when the server refused the channel (it is not retried). */
  error: LiveError | null;
}

type Listener = (state: LiveState<unknown>) => void;

// ---------------------------------------------------------------------------
// Frames and data, parsed defensively: anything malformed is ignored.

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** One text frame of `/ws/live`, or `null` when it is not one. */
export function parseFrame(raw: unknown): LiveFrame | null {
  if (!isStr(raw) || raw.length > MAX_FRAME_CHARS) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isObj(v)) return null;
  if (v.type === 'error') {
    const e = isObj(v.error) ? v.error : {};
    return {
      type: 'error',
      error: { code: isStr(e.code) ? e.code : 'error', message: isStr(e.message) ? e.message : '' },
    };
  }
  if ((v.type === 'snapshot' || v.type === 'update') && isStr(v.channel) && Number.isSafeInteger(v.seq) && 'data' in v) {
    return { type: v.type, channel: v.channel, seq: v.seq as number, data: v.data };
  }
  return null;
}

/** An entity payload: the view, `null` (not scored yet), or `undefined` when malformed. */
export function toEntity(data: unknown, prev: EntityView | null): EntityView | null | undefined {
  if (data === null) return null;
  if (!isObj(data) || !isStr(data.id) || !isStr(data.name) || !isNum(data.score)) return undefined;
  const rank = Number.isSafeInteger(data.rank) ? (data.rank as number) : null;
  let delta = prev?.delta ?? 0;
  if (prev && prev.id === data.id && prev.score !== data.score) delta = data.score - prev.score;
  return { id: data.id, name: data.name, score: data.score, rank, delta };
}

/** A leaderboard payload (malformed entries dropped), or `undefined` when malformed. */
export function toBoard(data: unknown): BoardView | undefined {
  if (!isObj(data) || !Array.isArray(data.entries)) return undefined;
  const entries: BoardEntry[] = [];
  for (const e of data.entries as unknown[]) {
    if (!isObj(e) || !isStr(e.id) || !isStr(e.name) || !isNum(e.score) || !Number.isSafeInteger(e.rank)) continue;
    entries.push({ rank: e.rank as number, id: e.id, name: e.name, score: e.score, delta: isNum(e.delta) ? e.delta : 0 });
  }
  return {
    scope: isStr(data.scope) ? data.scope : '',
    total: Number.isSafeInteger(data.total) ? (data.total as number) : entries.length,
    entries,
  };
}

function decode(channel: string, data: unknown, prev: unknown): unknown {
  if (channel.startsWith('entity:')) return toEntity(data, (prev as EntityView | null) ?? null);
  if (channel.startsWith('leaderboard:')) return toBoard(data);
  return undefined;
}

// ---------------------------------------------------------------------------

/** `ws(s)://host/ws/live?channel=…` for an http(s) origin. */
export function liveUrl(origin: string, channel: string): string {
  return `${origin.replace(/^http/, 'ws')}${WS_PATH}?channel=${encodeURIComponent(channel)}`;
}

/** Exponential, capped at 10 s, with jitter so many pages do not retry in step. */
export function backoffMs(attempt: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

class LiveSocket {
  readonly #url: string;
  readonly #channel: string;
  readonly #onIdle: () => void;
  readonly #listeners = new Set<Listener>();
  #ws: WebSocket | null = null;
  /** Whether the current socket has delivered its snapshot (updates before it are ignored). */
  #synced = false;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #state: LiveState<unknown> = { status: 'connecting', seq: null, ready: false, data: null, error: null };

  constructor(url: string, channel: string, onIdle: () => void) {
    this.#url = url;
    this.#channel = channel;
    this.#onIdle = onIdle;
  }

  add(fn: Listener): () => void {
    this.#listeners.add(fn);
    clearTimeout(this.#idle);
    if (!this.#ws && this.#retry === undefined && !this.#state.error) this.#open();
    fn(this.#state);
    return () => {
      if (!this.#listeners.delete(fn) || this.#listeners.size > 0) return;
      // Deferred, so an element moved in the DOM (disconnected, then connected) keeps its socket.
      clearTimeout(this.#idle);
      this.#idle = setTimeout(() => {
        if (this.#listeners.size === 0) this.#shutdown();
      }, 0);
    };
  }

  /** Retries now when waiting for a backoff (the network came back). */
  nudge(): void {
    if (this.#retry === undefined) return;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#open();
  }

  #set(patch: Partial<LiveState<unknown>>): void {
    this.#state = { ...this.#state, ...patch };
    for (const fn of [...this.#listeners]) fn(this.#state);
  }

  #open(): void {
    this.#retry = undefined;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url);
    } catch {
      this.#lost();
      return;
    }
    this.#ws = ws;
    this.#synced = false;
    ws.onmessage = (ev) => {
      if (ws === this.#ws) this.#frame(ev.data);
    };
    ws.onclose = () => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#lost();
    };
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (ws === this.#ws) this.#drop();
    }, SNAPSHOT_TIMEOUT_MS);
  }

  #frame(raw: unknown): void {
    const f = parseFrame(raw);
    if (!f) return;
    if (f.type === 'error') {
      // The server refuses the channel and closes (1008): retrying would not help.
      this.#close();
      this.#set({ status: 'stale', error: f.error });
      return;
    }
    if (f.channel !== this.#channel) return;
    const { seq, data: prev } = this.#state;
    if (f.type === 'snapshot') {
      clearTimeout(this.#watchdog);
      this.#synced = true;
      this.#attempt = 0;
      const data = decode(this.#channel, f.data, prev);
      this.#set(data === undefined ? { status: 'live', seq: f.seq } : { status: 'live', seq: f.seq, ready: true, data });
      return;
    }
    // An update before this socket's snapshot breaks the protocol; an old or repeated one is ignored.
    if (!this.#synced || seq === null || f.seq <= seq) return;
    const data = decode(this.#channel, f.data, prev);
    const patch: Partial<LiveState<unknown>> = data === undefined ? { seq: f.seq } : { seq: f.seq, ready: true, data };
    if (f.seq === seq + 1) {
      this.#set(patch);
      return;
    }
    // A gap: updates were missed. The data is the full latest state, so show it, then resync.
    this.#close();
    this.#set({ ...patch, status: 'connecting' });
    this.#open();
  }

  /** Closes the socket as if it had dropped (it reconnects). */
  #drop(): void {
    this.#close();
    this.#lost();
  }

  #lost(): void {
    clearTimeout(this.#watchdog);
    if (this.#listeners.size === 0 || this.#state.error) return;
    this.#set({ status: 'stale' });
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#open(), backoffMs(this.#attempt++));
  }

  /** Closes the current socket without triggering a reconnect. */
  #close(): void {
    clearTimeout(this.#watchdog);
    const ws = this.#ws;
    this.#ws = null;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close(1000);
    } catch {
      // already closing
    }
  }

  #shutdown(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#close();
    this.#onIdle();
  }
}

const sockets = new Map<string, LiveSocket>();
let onlineHooked = false;

/**
 * Watches `channel` on the server at `origin` (`https://host`); `fn` gets the
 * current state at once and on every change. Returns the unwatch function; the
 * socket closes when its last watcher leaves.
 */
export function watch<T>(origin: string, channel: string, fn: (state: LiveState<T>) => void): () => void {
  const url = liveUrl(origin, channel);
  let socket = sockets.get(url);
  if (!socket) {
    const created = new LiveSocket(url, channel, () => {
      if (sockets.get(url) === created) sockets.delete(url);
    });
    sockets.set(url, created);
    socket = created;
  }
  if (!onlineHooked && typeof window !== 'undefined') {
    onlineHooked = true;
    window.addEventListener('online', () => sockets.forEach((s) => s.nudge()));
  }
  return socket.add(fn as Listener);
}
