/**
 * `/embed.js`: one script tag defines two custom elements on any page,
 *
 *   <script src="https://host/embed.js" async></script>
 *   <resonance-score entity="x:mashable" theme="dark"></resonance-score>
 *   <resonance-leaderboard scope="global" limit="5" theme="light"></resonance-leaderboard>
 *
 * live over the plain WebSocket of the server the script came from (one
 * socket per channel, shared by the elements of the page), rendered in an
 * open shadow root. Plain TypeScript and DOM: no socket.io, no Svelte.
 *
 * Hooks: on the host `data-state` (connecting|live|stale), `data-seq` (the
 * latest seq applied) and `data-error` (the server's code when it refused the
 * channel); inside the shadow root `[part="score"]`, `[part="name"]`,
 * `[part="delta"]`, and `[part="row"][data-id]` for the board.
 */
import css from './embed.css?inline';
import { boardChannel, watch, type BoardView, type EntityView, type LiveState } from './live.js';
import { BoardCard, parseLimit, parseScope, parseTheme, ScoreCard } from './view.js';

/** The server: where this script was loaded from (`document.currentScript` exists only now, at load time). */
const ORIGIN = ((): string => {
  const script = document.currentScript;
  const src = script instanceof HTMLScriptElement ? script.src : '';
  try {
    const url = new URL(src, location.href);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch {
    // no usable src: fall back to the page's origin
  }
  return location.origin;
})();

let sheet: CSSStyleSheet | null | undefined;

/** A constructed stylesheet (not subject to the host page's style-src CSP), else a <style>. */
function style(root: ShadowRoot): void {
  if (sheet === undefined) {
    try {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
    } catch {
      sheet = null;
    }
  }
  if (sheet) {
    root.adoptedStyleSheets = [sheet];
  } else {
    const el = document.createElement('style');
    el.textContent = css;
    root.append(el);
  }
}

const IDLE: LiveState<never> = { status: 'stale', seq: null, ready: false, data: null, error: null };

abstract class LiveElement<T> extends HTMLElement {
  #channel: string | null = null;
  #unwatch: (() => void) | null = null;
  #state: LiveState<T> = IDLE;

  constructor() {
    super();
    style(this.attachShadow({ mode: 'open' }));
  }

  /** The channel the attributes name, or `null` when they name none. */
  protected abstract channel(): string | null;
  protected abstract paint(state: LiveState<T>): void;

  connectedCallback(): void {
    this.#sync();
  }

  disconnectedCallback(): void {
    this.#unwatch?.();
    this.#unwatch = null;
    this.#channel = null;
  }

  attributeChangedCallback(): void {
    if (this.isConnected) this.#sync();
  }

  #sync(): void {
    const channel = this.channel();
    if (channel !== this.#channel || !this.#unwatch) {
      this.#unwatch?.();
      this.#unwatch = null;
      this.#channel = channel;
      this.#state = IDLE;
      // watch() reports the current state at once, which paints.
      if (channel) this.#unwatch = watch<T>(ORIGIN, channel, (s) => this.#apply(s));
      else this.#apply(IDLE);
    } else {
      this.#apply(this.#state);
    }
  }

  #apply(state: LiveState<T>): void {
    this.#state = state;
    this.setAttribute('data-state', state.status);
    if (state.seq === null) this.removeAttribute('data-seq');
    else this.setAttribute('data-seq', String(state.seq));
    if (state.error) this.setAttribute('data-error', state.error.code);
    else this.removeAttribute('data-error');
    this.paint(state);
  }
}

class ResonanceScore extends LiveElement<EntityView> {
  static readonly observedAttributes = ['entity', 'theme'];
  readonly #card = new ScoreCard(ORIGIN);

  constructor() {
    super();
    this.shadowRoot?.append(this.#card.el);
  }

  protected channel(): string | null {
    const id = this.#id();
    return id ? `entity:${id}` : null;
  }

  protected paint(state: LiveState<EntityView>): void {
    this.#card.setTheme(parseTheme(this.getAttribute('theme')));
    this.#card.render(this.#id(), state);
  }

  #id(): string {
    return this.getAttribute('entity')?.trim() ?? '';
  }
}

class ResonanceLeaderboard extends LiveElement<BoardView> {
  static readonly observedAttributes = ['scope', 'limit', 'theme'];
  readonly #card = new BoardCard(ORIGIN);

  constructor() {
    super();
    this.shadowRoot?.append(this.#card.el);
  }

  protected channel(): string {
    // The element's own top N: frames carry only its rows, and come only when they move.
    return boardChannel(parseScope(this.getAttribute('scope')), parseLimit(this.getAttribute('limit')));
  }

  protected paint(state: LiveState<BoardView>): void {
    this.#card.setTheme(parseTheme(this.getAttribute('theme')));
    this.#card.render(parseScope(this.getAttribute('scope')), parseLimit(this.getAttribute('limit')), state);
  }
}

// Twice on one page (two script tags) is harmless: the first definition stays.
if (!customElements.get('resonance-score')) customElements.define('resonance-score', ResonanceScore);
if (!customElements.get('resonance-leaderboard')) customElements.define('resonance-leaderboard', ResonanceLeaderboard);
