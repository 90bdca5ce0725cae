/**
 * Typed REST helper for the read API (CONTRACT.md §3). Every call resolves to
 * the JSON body or throws an `ApiError` carrying the API's own code and message,
 * so a view can show exactly what the server said.
 */
// Type-only on purpose: a value import of shared/api.ts drags TypeBox into the bundle.
import type { Entity, ErrorBody, Leaderboard } from '../../../shared/api.js';

export type { Entity, Leaderboard, LeaderboardEntry } from '../../../shared/api.js';

export const HISTORY_RANGES = ['1h', '24h', '7d', '30d'] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

export interface HistoryPoint {
  /** ISO-8601, event time. */
  t: string;
  score: number;
}

export interface History {
  id: string;
  range: HistoryRange;
  points: HistoryPoint[];
}

export interface ExplainComponent {
  name: string;
  weight: number;
  value: number;
  raw: number;
  scale: { unit: number; full: number };
}

export interface Explain {
  id: string;
  score: number;
  asOf: string;
  formula: string;
  components: ExplainComponent[];
  accounts: { id: string; score: number; share: number }[];
  posts: { account: string; post: string; value: number }[];
  engagers: { account: string; engager: string; weight: number }[];
}

export interface TopicCount {
  topic: string;
  entities: number;
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  const e = (body as ErrorBody | null)?.error;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}

/** GETs a JSON path of the API; `signal` lets a view drop an answer it no longer wants. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' }, signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    if (isErrorBody(body)) throw new ApiError(res.status, body.error.code, body.error.message, body.error.details);
    throw new ApiError(res.status, 'http_error', `The server answered ${res.status} ${res.statusText}`.trim());
  }
  if (body === null) throw new ApiError(res.status, 'bad_response', 'The server answered something other than JSON.');
  return body as T;
}

const enc = encodeURIComponent;

export const api = {
  entity: (id: string, signal?: AbortSignal) => getJson<Entity>(`/api/entities/${enc(id)}`, signal),
  explain: (id: string, signal?: AbortSignal) => getJson<Explain>(`/api/entities/${enc(id)}/explain`, signal),
  history: (id: string, range: HistoryRange, signal?: AbortSignal) =>
    getJson<History>(`/api/entities/${enc(id)}/history?range=${range}`, signal),
  leaderboard: (scope: string, limit = 20, offset = 0, signal?: AbortSignal) =>
    getJson<Leaderboard>(`/api/leaderboard?scope=${enc(scope)}&limit=${limit}&offset=${offset}`, signal),
  topics: (signal?: AbortSignal) => getJson<{ topics: TopicCount[] }>('/api/topics', signal),
};

/** True when the error only says the request was given up on purpose. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}

/** A message fit to show, whatever was thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
