/** Small display helpers shared by the views. */

export const NETWORKS = ['x', 'bluesky', 'mastodon', 'instagram', 'youtube', 'linkedin', 'blog', 'web'] as const;
export const KINDS = ['person', 'brand'] as const;

// Mirrors SCOPE_PATTERN of shared/api.ts; importing it as a value would drag TypeBox into the bundle.
const SCOPE = /^(global|topic:[a-z0-9][a-z0-9-]{0,47}|network:[a-z0-9][a-z0-9-]{0,31}|kind:(person|brand))$/;
const ENTITY_ID = /^[a-z0-9][a-z0-9._-]*$/;

export function isScope(value: string): boolean {
  return SCOPE.test(value);
}

/** Text a person may have typed as an id: an account (`network:handle`) or an entity id. */
export function looksLikeId(text: string): boolean {
  return text.includes(':') ? !/\s/.test(text) : ENTITY_ID.test(text);
}

const NETWORK_LABELS: Record<string, string> = {
  x: 'X',
  bluesky: 'Bluesky',
  mastodon: 'Mastodon',
  instagram: 'Instagram',
  youtube: 'YouTube',
  linkedin: 'LinkedIn',
  blog: 'Blogs',
  web: 'Web',
};

export function networkLabel(network: string): string {
  return NETWORK_LABELS[network] ?? network;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A scope as a person would say it: "Topic: ai", "Network: Bluesky", "People". */
export function scopeLabel(scope: string): string {
  const [kind, value = ''] = scope.split(/:(.*)/s);
  switch (kind) {
    case 'topic':
      return `Topic: ${value}`;
    case 'network':
      return `Network: ${networkLabel(value)}`;
    case 'kind':
      return value === 'person' ? 'People' : value === 'brand' ? 'Brands' : scope;
    case 'global':
      return 'Everyone';
    default:
      return scope;
  }
}

export function formatScore(score: number): string {
  return score.toFixed(1);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** HH:MM:SS in local time, the same on every locale so a wall reads alike everywhere. */
export function clockTime(at: number | Date): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function dateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Splits `network:handle`; an entity id gives no network. */
export function splitAccount(account: string): { network: string | null; handle: string } {
  const i = account.indexOf(':');
  return i < 0 ? { network: null, handle: account } : { network: account.slice(0, i), handle: account.slice(i + 1) };
}

export function round(value: number, digits = 1): string {
  return value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
