/**
 * Everything the entity page knows about one entity: the REST reads (entity,
 * explanation) and the live channel, plus what only a watching page can know:
 * the movement since the previous value and the list of recent changes.
 */
import type { Entity } from '../../../shared/api.js';
import { ApiError, api, errorMessage, isAbort, type Explain, type HistoryPoint } from './api.js';
import { LiveChannel } from './live.svelte.js';

export interface Activity {
  /** `Date.now()` when the change arrived. */
  at: number;
  score: number;
  delta: number;
  /** Bumped per change, a stable key for the list. */
  n: number;
}

const MAX_ACTIVITY = 30;
const MAX_LIVE_POINTS = 500;
// The explanation is heavier than the entity; refreshing it this often is plenty for a person reading it.
const EXPLAIN_REFRESH_MS = 15_000;

export class EntityState {
  readonly id: string;
  readonly live: LiveChannel<Entity>;

  fetched = $state<Entity | null>(null);
  loading = $state(true);
  error = $state<ApiError | null>(null);
  explain = $state<Explain | null>(null);
  explainError = $state<string | null>(null);
  /** Score change of the latest live update; null until one arrives. */
  delta = $state<number | null>(null);
  /** Bumped on each live score change, so the view can replay its animation. */
  changes = $state(0);
  activity = $state<Activity[]>([]);
  /** Scores seen live, in event time, for the history chart to append. */
  livePoints = $state<HistoryPoint[]>([]);

  /** The live state when there is one: it is never older than the REST read. */
  get entity(): Entity | null {
    return this.live.data ?? this.fetched;
  }

  #ctrl = new AbortController();
  #explainTimer: ReturnType<typeof setTimeout> | undefined;
  #explainAt = 0;

  constructor(id: string) {
    this.id = id;
    this.live = new LiveChannel<Entity>(`entity:${id}`);
    this.live.ondata = (next, prev) => this.#onLive(next, prev);
    void this.#load();
  }

  close(): void {
    this.#ctrl.abort();
    clearTimeout(this.#explainTimer);
    this.live.close();
  }

  async #load(): Promise<void> {
    const signal = this.#ctrl.signal;
    try {
      this.fetched = await api.entity(this.id, signal);
    } catch (err) {
      if (isAbort(err)) return;
      this.error = err instanceof ApiError ? err : new ApiError(0, 'error', errorMessage(err));
    } finally {
      if (!signal.aborted) this.loading = false;
    }
    if (this.error?.status !== 404) void this.#loadExplain();
  }

  async #loadExplain(): Promise<void> {
    this.#explainAt = Date.now();
    try {
      this.explain = await api.explain(this.id, this.#ctrl.signal);
      this.explainError = null;
    } catch (err) {
      if (!isAbort(err)) this.explainError = errorMessage(err);
    }
  }

  #onLive(next: Entity | null, prev: Entity | null): void {
    if (!next) return;
    // An entity that appears while the page shows "not found" is found after all.
    if (this.error?.status === 404) {
      this.error = null;
      void this.#loadExplain();
    }
    const before = prev ?? this.fetched;
    if (!before || before.score === next.score) return;
    const delta = Math.round((next.score - before.score) * 10) / 10;
    this.delta = delta;
    this.changes++;
    this.activity = [{ at: Date.now(), score: next.score, delta, n: this.changes }, ...this.activity].slice(0, MAX_ACTIVITY);
    this.livePoints = [...this.livePoints, { t: next.updatedAt, score: next.score }].slice(-MAX_LIVE_POINTS);
    this.#scheduleExplain();
  }

  #scheduleExplain(): void {
    if (this.#explainTimer !== undefined) return;
    const wait = Math.max(0, this.#explainAt + EXPLAIN_REFRESH_MS - Date.now());
    this.#explainTimer = setTimeout(() => {
      this.#explainTimer = undefined;
      void this.#loadExplain();
    }, wait);
  }
}
