/**
 * The wall's data: either fixed entities (one `entity:<id>` channel each) or
 * the top of a scope (one `leaderboard:<scope>` channel), turned into a list
 * of tickers, plus a 24h sparkline per ticker and a rotating featured one.
 */
import type { Entity, Leaderboard } from '../../../shared/api.js';
import { boardChannel } from '../embed/live.js';
import { api } from './api.js';
import { LiveChannel, type LiveStatus } from './live.svelte.js';

export interface WallConfig {
  /** Fixed ids, or null for the top of `scope`. */
  entities: string[] | null;
  scope: string;
  top: number;
  rotateSeconds: number;
}

export interface Ticker {
  id: string;
  name: string;
  /** Null when the entity does not exist (yet). */
  score: number | null;
  /** Change over the last 24 hours; null when not known yet. */
  delta: number | null;
  rank: number | null;
}

export const MAX_TICKERS = 12;
// A sparkline over a day changes slowly; live scores are appended in between.
const HISTORY_REFRESH_MS = 5 * 60_000;
const MAX_SPARK_POINTS = 200;

export class WallState {
  readonly config: WallConfig;
  readonly #boards: LiveChannel<Leaderboard> | null;
  readonly #entities: LiveChannel<Entity>[];

  /** Scores of the last 24 hours per id, oldest first. */
  sparks = $state<Record<string, number[]>>({});
  featured = $state(0);

  readonly tickers: Ticker[] = $derived.by(() => (this.#boards ? this.#fromBoard(this.#boards) : this.#fromEntities()));

  /** Live only when every channel is; any channel down means some numbers may be old. */
  readonly status: LiveStatus = $derived.by(() => {
    const s = this.#channels.map((c) => c.status);
    if (s.every((x) => x === 'live')) return 'live';
    return s.some((x) => x === 'offline') ? 'offline' : 'connecting';
  });
  readonly lastUpdate: number | null = $derived.by(() => {
    const times = this.#channels.map((c) => c.lastUpdate ?? 0);
    const latest = Math.max(0, ...times);
    return latest || null;
  });
  readonly error: string | null = $derived(this.#channels.find((c) => c.error)?.error?.message ?? null);

  #ctrl = new AbortController();
  #timers: ReturnType<typeof setInterval>[] = [];
  #fetched = new Map<string, number>();

  constructor(config: WallConfig) {
    this.config = config;
    this.#boards = config.entities ? null : new LiveChannel<Leaderboard>(boardChannel(config.scope, config.top));
    this.#entities = (config.entities ?? []).map((id) => new LiveChannel<Entity>(`entity:${id}`));
    if (config.rotateSeconds > 0) {
      this.#timers.push(setInterval(() => this.featured++, config.rotateSeconds * 1000));
    }
    this.#timers.push(setInterval(() => this.#fetched.clear(), HISTORY_REFRESH_MS));
  }

  get #channels(): Pick<LiveChannel<unknown>, 'status' | 'lastUpdate' | 'error' | 'close'>[] {
    return this.#boards ? [this.#boards] : this.#entities;
  }

  close(): void {
    this.#ctrl.abort();
    for (const t of this.#timers) clearInterval(t);
    for (const c of this.#channels) c.close();
  }

  /** Loads the 24h history of shown ids that have none, or an old one. */
  loadSparks(ids: string[]): void {
    for (const id of ids) {
      if (this.#fetched.has(id)) continue;
      this.#fetched.set(id, Date.now());
      api.history(id, '24h', this.#ctrl.signal).then(
        (h) => (this.sparks[id] = h.points.map((p) => p.score).slice(-MAX_SPARK_POINTS)),
        // Without history the ticker simply has no sparkline until the next refresh; retrying sooner would hammer a failing server.
        () => {},
      );
    }
  }

  #fromBoard(board: LiveChannel<Leaderboard>): Ticker[] {
    const seen = new Set<string>();
    return [...(board.data?.entries ?? [])]
      .sort((a, b) => a.rank - b.rank)
      .filter((e) => !seen.has(e.id) && Boolean(seen.add(e.id)))
      .slice(0, this.config.top)
      .map((e) => ({ id: e.id, name: e.name, score: e.score, delta: e.delta, rank: e.rank }));
  }

  #fromEntities(): Ticker[] {
    return this.#entities.map((c, i) => {
      const id = this.config.entities?.[i] ?? '';
      const e = c.data;
      const first = this.sparks[id]?.[0];
      return {
        id,
        name: e?.name ?? id,
        score: e?.score ?? null,
        // Same meaning as a leaderboard's delta: the change over the last day.
        delta: e && first !== undefined ? Math.round((e.score - first) * 10) / 10 : null,
        rank: e?.rank ?? null,
      };
    });
  }
}

/** Reads the wall's URL parameters, with the documented defaults. */
export function wallConfig(q: URLSearchParams, isScope: (s: string) => boolean): WallConfig {
  const list = q
    .get('entities')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const entities = list && list.length > 0 ? [...new Set(list)].slice(0, MAX_TICKERS) : null;
  const scope = q.get('scope') ?? 'global';
  const top = Number(q.get('top') ?? q.get('limit') ?? 6);
  const rotate = Number(q.get('rotate') ?? 10);
  return {
    entities,
    scope: isScope(scope) ? scope : 'global',
    top: Number.isInteger(top) && top > 0 ? Math.min(top, MAX_TICKERS) : 6,
    // 0 holds still; anything faster than a second could not be read from across a room.
    rotateSeconds: Number.isFinite(rotate) && rotate >= 0 ? (rotate === 0 ? 0 : Math.max(1, rotate)) : 10,
  };
}
