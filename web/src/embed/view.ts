/**
 * The two embed cards, built with plain DOM calls and shared by the custom
 * elements (in their shadow roots) and the iframe widget page. Data only ever
 * reaches the DOM through `textContent` and `setAttribute`, never as markup.
 *
 * Test hooks: `part` attributes (score, name, delta, row with `data-id`) for
 * the shadow roots, the same elements carry `data-testid` for the iframe page.
 */
import type { BoardEntry, BoardView, EntityView, LiveState, LiveStatus } from './live.js';

export type Theme = 'light' | 'dark';

export const DEFAULT_LIMIT = 5;
export const MAX_LIMIT = 20;

export const parseTheme = (value: string | null | undefined): Theme => (value === 'dark' ? 'dark' : 'light');

/** `limit` as given, clamped to 1–20; 5 when missing or not a number. */
export function parseLimit(value: string | null | undefined): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) ? Math.min(MAX_LIMIT, Math.max(1, n)) : DEFAULT_LIMIT;
}

export const parseScope = (value: string | null | undefined): string => value?.trim() || 'global';

export const entityHref = (origin: string, id: string): string => `${origin}/e/${encodeURIComponent(id)}`;

export const formatScore = (score: number): string => score.toFixed(1);

/** Rounded first, so +0.04 reads as unchanged rather than a green "0.0" (as in the app's ScoreDelta). */
export function formatDelta(delta: number): { text: string; dir: 'up' | 'down' | 'flat'; label: string } {
  const rounded = Math.round(delta * 10) / 10;
  const dir = rounded > 0 ? 'up' : rounded < 0 ? 'down' : 'flat';
  const abs = Math.abs(rounded).toFixed(1);
  if (dir === 'flat') return { text: '–', dir, label: 'unchanged' };
  return { text: `${dir === 'up' ? '▲' : '▼'} ${abs}`, dir, label: `${dir} ${abs}` };
}

function scopeLabel(scope: string): string {
  if (scope === 'kind:person') return 'people';
  if (scope === 'kind:brand') return 'brands';
  const colon = scope.indexOf(':');
  return colon < 0 ? scope : scope.slice(colon + 1);
}

const STATUS_TEXT: Record<LiveStatus, string> = { live: 'Live', connecting: 'Connecting…', stale: 'Reconnecting…' };
const STATUS_TITLE: Record<LiveStatus, string> = {
  live: 'Live: updates as scores change',
  connecting: 'Connecting to the live feed',
  stale: 'Connection lost: showing the last known values while reconnecting',
};

type Attrs = Record<string, string>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, attrs: Attrs = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const link = (cls: string, href: string, attrs: Attrs = {}): HTMLAnchorElement =>
  h('a', cls, { href, target: '_blank', rel: 'noopener', ...attrs });

/** Sets text only when it changed (keeps the DOM quiet on repeated states). */
function setText(el: Element, text: string): boolean {
  if (el.textContent === text) return false;
  el.textContent = text;
  return true;
}

function setAttr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** Replays the short highlight of a changed value. */
function flash(el: Element): void {
  el.classList.remove('flash');
  void (el as HTMLElement).offsetWidth;
  el.classList.add('flash');
}

function paintDelta(el: Element, delta: number): void {
  const d = formatDelta(delta);
  setText(el, d.text);
  el.classList.toggle('up', d.dir === 'up');
  el.classList.toggle('down', d.dir === 'down');
  el.classList.toggle('flat', d.dir === 'flat');
  setAttr(el, 'aria-label', d.label);
  setAttr(el, 'title', d.label);
}

abstract class Card {
  abstract readonly el: HTMLElement;
  protected readonly status = h('span', 'status', { part: 'status', role: 'status', 'aria-live': 'polite' });
  readonly #label = h('span', 'label');

  constructor() {
    this.status.append(h('i', 'dot', { 'aria-hidden': 'true' }), this.#label);
  }

  setTheme(theme: Theme): void {
    this.el.classList.toggle('dark', theme === 'dark');
  }

  protected paintStatus(state: LiveState<unknown>, problem: string | null): void {
    const { status } = state;
    for (const s of ['live', 'connecting', 'stale'] as const) this.el.classList.toggle(s, s === status);
    this.el.classList.toggle('failed', problem !== null);
    setText(this.#label, problem ?? STATUS_TEXT[status]);
    setAttr(this.status, 'title', problem ? `${problem}: ${state.error?.message || 'not available'}` : STATUS_TITLE[status]);
  }
}

/** The score badge: name, big score, delta arrow, rank, status and wordmark; the whole card links to the entity page. */
export class ScoreCard extends Card {
  readonly el: HTMLAnchorElement;
  readonly #origin: string;
  readonly #name = h('span', 'name', { part: 'name', 'data-testid': 'embed-name' });
  readonly #rank = h('span', 'rank', { part: 'rank' });
  readonly #score = h('span', 'score', { part: 'score', 'data-testid': 'embed-score' }, '—');
  readonly #delta = h('span', 'delta', { part: 'delta', 'data-testid': 'embed-delta' });
  readonly #note = h('span', 'note');
  #scored = false;

  constructor(origin: string) {
    super();
    this.#origin = origin;
    this.el = link('r badge', origin, { part: 'card' });
    const top = h('span', 'top');
    top.append(this.#name, this.#rank);
    const mid = h('span', 'mid');
    mid.append(this.#score, this.#delta, this.#note);
    const foot = h('span', 'foot');
    foot.append(this.status, h('span', 'mark', {}, 'Resonance'));
    this.el.append(top, mid, foot);
  }

  render(id: string, state: LiveState<EntityView>): void {
    setAttr(this.el, 'href', id ? entityHref(this.#origin, id) : this.#origin);
    const entity = state.ready ? state.data : null;
    const problem = !id ? 'No entity' : state.error ? 'Unavailable' : null;
    this.paintStatus(state, problem);
    this.el.classList.toggle('pending', !entity);
    setText(this.#name, entity?.name ?? id);
    setText(this.#rank, entity?.rank ? `#${entity.rank}` : '');
    setText(this.#note, state.ready && !entity && !problem ? 'not scored yet' : '');
    if (!entity) {
      setText(this.#score, '—');
      setText(this.#delta, '');
      this.#scored = false;
      return;
    }
    if (setText(this.#score, formatScore(entity.score)) && this.#scored) flash(this.#score);
    this.#scored = true;
    paintDelta(this.#delta, entity.delta);
  }
}

interface Row {
  li: HTMLLIElement;
  a: HTMLAnchorElement;
  rank: HTMLSpanElement;
  name: HTMLSpanElement;
  score: HTMLSpanElement;
  delta: HTMLSpanElement;
}

/** The mini leaderboard: rank, name, score and delta of the top `limit` entries, each row linking to the entity page. */
export class BoardCard extends Card {
  readonly el = h('div', 'r board', { part: 'card' });
  readonly #origin: string;
  readonly #title = h('span', 'title', { part: 'title' });
  readonly #list = h('ol', 'rows', { part: 'rows' });
  readonly #note = h('span', 'note');
  readonly #rows = new Map<string, Row>();

  constructor(origin: string) {
    super();
    this.#origin = origin;
    const top = h('div', 'top');
    top.append(this.#title, this.status);
    const foot = h('div', 'foot');
    const mark = link('mark', origin);
    mark.textContent = 'Resonance';
    foot.append(this.#note, mark);
    this.el.append(top, this.#list, foot);
  }

  render(scope: string, limit: number, state: LiveState<BoardView>): void {
    setText(this.#title, `Top ${limit} · ${scopeLabel(scope)}`);
    const problem = state.error ? 'Unavailable' : null;
    this.paintStatus(state, problem);
    const entries = state.ready && state.data ? state.data.entries.slice(0, limit) : [];
    setText(this.#note, problem ? '' : !state.ready ? (state.status === 'stale' ? '' : 'Loading…') : entries.length ? '' : 'No scores yet');

    const keep = new Set(entries.map((e) => e.id));
    for (const [id, row] of this.#rows) {
      if (keep.has(id)) continue;
      row.li.remove();
      this.#rows.delete(id);
    }
    // In rank order; existing rows are moved, not rebuilt, so a changed score can flash.
    let at: ChildNode | null = this.#list.firstChild;
    for (const entry of entries) {
      const row = this.#row(entry);
      if (row.li === at) at = at.nextSibling;
      else this.#list.insertBefore(row.li, at);
    }
  }

  #row(entry: BoardEntry): Row {
    let row = this.#rows.get(entry.id);
    const fresh = !row;
    if (!row) {
      const li = h('li', 'row', { part: 'row', 'data-id': entry.id, 'data-testid': 'embed-row' });
      row = {
        li,
        a: link('cells', entityHref(this.#origin, entry.id)),
        rank: h('span', 'rank', { part: 'rank' }),
        name: h('span', 'name', { part: 'name' }),
        score: h('span', 'score', { part: 'score' }),
        delta: h('span', 'delta', { part: 'delta' }),
      };
      row.a.append(row.rank, row.name, row.score, row.delta);
      li.append(row.a);
      this.#rows.set(entry.id, row);
    }
    setText(row.rank, String(entry.rank));
    setText(row.name, entry.name);
    setAttr(row.a, 'title', entry.name);
    if (setText(row.score, formatScore(entry.score)) && !fresh) flash(row.li);
    paintDelta(row.delta, entry.delta);
    return row;
  }
}
