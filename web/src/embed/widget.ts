/**
 * The iframe widgets (web/embed.html), served for
 *   /embed/score/<id>                          a score badge
 *   /embed/leaderboard?scope=global&limit=5    a mini leaderboard (limit 1–20)
 * with `?theme=light|dark`, live over the plain WebSocket of this origin.
 *
 * Hooks: on <body> `data-state` (connecting|live|stale), `data-seq` and
 * `data-error`; `data-testid="embed-score"`, `"embed-name"`, `"embed-delta"`
 * on the badge, `data-testid="embed-row"` with `data-id` on board rows.
 */
import './embed.css';
import { boardChannel, watch, type BoardView, type EntityView, type LiveState } from './live.js';
import { BoardCard, parseLimit, parseScope, parseTheme, ScoreCard } from './view.js';

const SCORE_PREFIX = '/embed/score/';

function mark(state: LiveState<unknown>): void {
  const body = document.body;
  body.setAttribute('data-state', state.status);
  if (state.seq === null) body.removeAttribute('data-seq');
  else body.setAttribute('data-seq', String(state.seq));
  if (state.error) body.setAttribute('data-error', state.error.code);
  else body.removeAttribute('data-error');
}

function entityId(pathname: string): string {
  const raw = pathname.slice(SCORE_PREFIX.length).replace(/\/+$/, '');
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return raw.trim();
  }
}

function start(): void {
  const { pathname, search, origin } = location;
  const params = new URLSearchParams(search);
  const theme = parseTheme(params.get('theme'));
  const root = document.getElementById('embed') ?? document.body;
  document.body.classList.add('page');

  if (pathname.startsWith(SCORE_PREFIX)) {
    const id = entityId(pathname);
    const card = new ScoreCard(origin);
    card.setTheme(theme);
    root.replaceChildren(card.el);
    const paint = (state: LiveState<EntityView>): void => {
      mark(state);
      card.render(id, state);
      document.title = `${state.ready && state.data ? state.data.name : id || 'Score'} · Resonance`;
    };
    if (id) watch<EntityView>(origin, `entity:${id}`, paint);
    else paint({ status: 'stale', seq: null, ready: false, data: null, error: null });
    return;
  }

  // /embed/leaderboard, and anything else under /embed/ (the board is the safer default).
  const scope = parseScope(params.get('scope'));
  const limit = parseLimit(params.get('limit'));
  const card = new BoardCard(origin);
  card.setTheme(theme);
  root.replaceChildren(card.el);
  document.title = `Top ${limit} · Resonance`;
  // The board's own top N: frames carry only its rows, and come only when they move.
  watch<BoardView>(origin, boardChannel(scope, limit), (state) => {
    mark(state);
    card.render(scope, limit, state);
  });
}

start();
