/**
 * Light/dark theme: `?theme=light|dark|auto` wins, then the choice saved by
 * the toggle, then `auto` (the system's preference). The wall is for a TV in a
 * dim room, so it ignores the saved choice and is dark unless told otherwise.
 * The result lands on `<html data-theme>`; app.css swaps its tokens on it.
 */
import { router } from './router.svelte.js';

export const THEME_MODES = ['auto', 'light', 'dark'] as const;
export type ThemeMode = (typeof THEME_MODES)[number];
export type ResolvedTheme = 'light' | 'dark';

// Also read by the inline script of index.html, which paints the first frame in the right theme.
const STORAGE_KEY = 'resonance.theme';

export function parseThemeMode(value: string | null | undefined): ThemeMode | null {
  return THEME_MODES.find((m) => m === value) ?? null;
}

function readStored(): ThemeMode | null {
  try {
    return parseThemeMode(localStorage.getItem(STORAGE_KEY));
  } catch {
    // Storage can be blocked (privacy settings, sandboxed frames); the theme still works for this visit.
    return null;
  }
}

class Theme {
  #stored = $state(readStored());
  #system = matchMedia('(prefers-color-scheme: dark)');
  #systemDark = $state(this.#system.matches);

  readonly mode: ThemeMode = $derived(
    parseThemeMode(router.query.get('theme')) ?? (router.route.name === 'wall' ? 'dark' : (this.#stored ?? 'auto')),
  );
  readonly resolved: ResolvedTheme = $derived(this.mode === 'auto' ? (this.#systemDark ? 'dark' : 'light') : this.mode);

  constructor() {
    this.#system.addEventListener('change', (e) => (this.#systemDark = e.matches));
  }

  /** The toggle's choice: saved for later visits, and it replaces a `?theme=` of the current URL. */
  choose(mode: ThemeMode): void {
    this.#stored = mode;
    try {
      localStorage.setItem(STORAGE_KEY, mode);
    } catch {
      // See readStored.
    }
    if (router.query.has('theme')) router.setQuery({ theme: null }, { replace: true });
  }

  /** Writes the theme to `<html>`; call from an effect so it follows every change. */
  apply(): void {
    const root = document.documentElement;
    root.dataset.theme = this.resolved;
    root.dataset.themeMode = this.mode;
  }
}

export const theme = new Theme();
