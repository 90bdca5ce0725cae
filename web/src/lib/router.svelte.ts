/**
 * A minimal history router: the whole app is one page, so links are caught at
 * the document and turned into `pushState`, and back/forward re-render from
 * `location`. Views read `router.path` and `router.query` reactively.
 */

export type Route = { name: 'pulse' } | { name: 'wall' } | { name: 'entity'; id: string } | { name: 'not-found' };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** Maps a pathname to a view; a trailing slash is forgiven. */
export function matchRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '/') return { name: 'pulse' };
  if (path === '/wall') return { name: 'wall' };
  const m = /^\/e\/([^/]+)$/.exec(path);
  const id = m?.[1] ? decode(m[1]) : null;
  return id ? { name: 'entity', id } : { name: 'not-found' };
}

class Router {
  path = $state(location.pathname);
  search = $state(location.search);
  readonly query = $derived(new URLSearchParams(this.search));
  readonly route = $derived(matchRoute(this.path));

  constructor() {
    addEventListener('popstate', () => this.#sync());
    document.addEventListener('click', this.#onClick);
  }

  /** Goes to a same-origin URL without reloading; `replace` keeps the history entry (for filters). */
  navigate(href: string, { replace = false } = {}): void {
    const url = new URL(href, location.href);
    if (url.origin !== location.origin) {
      location.assign(url);
      return;
    }
    const pageChanged = url.pathname !== location.pathname;
    history[replace ? 'replaceState' : 'pushState'](null, '', url);
    this.#sync();
    if (pageChanged) scrollTo(0, 0);
  }

  /** Sets (or, with `null`, removes) query parameters of the current page. */
  setQuery(params: Record<string, string | null>, { replace = false } = {}): void {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(params)) {
      if (v === null || v === '') q.delete(k);
      else q.set(k, v);
    }
    // ':' and ',' are legal in a query and keep `?scope=topic:ai` readable, as people type it.
    const s = q.toString().replace(/%3A/gi, ':').replace(/%2C/gi, ',');
    this.navigate(`${location.pathname}${s ? `?${s}` : ''}${location.hash}`, { replace });
  }

  #sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }

  #onClick = (e: MouseEvent): void => {
    // Let the browser handle anything a user means as "open elsewhere" or a download.
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || !a.href || a.hasAttribute('download') || (a.target && a.target !== '_self')) return;
    const url = new URL(a.href, location.href);
    // Only this app's own pages: /docs, /embed/*, /api/* and the like are other documents.
    if (url.origin !== location.origin || matchRoute(url.pathname).name === 'not-found') return;
    e.preventDefault();
    this.navigate(url.href);
  };
}

export const router = new Router();

/**
 * The path of an entity page, `/e/x:handle`. Dots are escaped: the server sends
 * the app for unknown paths only when they hold no '.', and ids such as
 * `blog:a.com` do.
 */
export function entityHref(id: string): string {
  return `/e/${encodeURIComponent(id).replace(/%3A/gi, ':').replace(/\./g, '%2E')}`;
}
