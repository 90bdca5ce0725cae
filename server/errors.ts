/**
 * Every HTTP error the API answers with, made in one place: a stable code,
 * a status and a message. Handlers throw these; the error handler shapes them
 * as `{ error: { code, message, details? } }`.
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';

export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const errors = {
  unauthorized: (what: string) => new AppError('unauthorized', 401, `a valid ${what} key is required (Authorization: Bearer <key>)`),
  forbidden: (message: string) => new AppError('forbidden', 403, message),
  notFound: (what: string, id: string) => new AppError(`${what}_not_found`, 404, `no ${what} "${id}"`),
  routeNotFound: (method: string, url: string) => new AppError('route_not_found', 404, `no route ${method} ${url}`),
  invalidJson: (message: string) => new AppError('invalid_json', 400, `the body is not valid JSON: ${message}`),
  invalidRequest: (message: string, details?: unknown) => new AppError('invalid_request', 400, message, details),
  emptyBody: () => new AppError('empty_body', 400, 'the body holds no event'),
  tooManyEvents: (n: number, max: number, where: 'request' | 'frame' = 'request') => new AppError('too_many_events', 413, `${n} events in one ${where}; at most ${max}`),
  bodyTooLarge: (limit: number) => new AppError('body_too_large', 413, `the body exceeds ${limit} bytes`),
  unsupportedMediaType: (type: string) =>
    new AppError('unsupported_media_type', 415, `content type "${type}" is not accepted; use application/json or application/x-ndjson`),
  conflict: (message: string) => new AppError('conflict', 409, message),
  unavailable: (message: string, retryAfterSec?: number) =>
    new AppError('unavailable', 503, message, undefined, retryAfterSec ? { 'retry-after': String(retryAfterSec) } : undefined),
  storeUnavailable: () =>
    new AppError('store_unavailable', 503, 'the store (Redis) cannot be reached; nothing was stored, send again shortly', undefined, { 'retry-after': '2' }),
};

/** Redis replies that mean "not now" rather than "wrong": loading its data after a restart, a replica, a failover. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * The 503 an error of the store's connection becomes (Redis down,
 * restarting, loading, unreachable), or null for any other error. Nothing
 * was acknowledged: the producer sends again, and deduplication keeps a
 * repeat from counting twice.
 */
export function storeError(err: unknown): AppError | null {
  const connection =
    err instanceof ClientClosedError ||
    err instanceof ClientOfflineError ||
    err instanceof ConnectionTimeoutError ||
    err instanceof DisconnectsClientError ||
    err instanceof ReconnectStrategyError ||
    err instanceof SocketClosedUnexpectedlyError ||
    err instanceof SocketTimeoutError ||
    err instanceof TimeoutError ||
    (err instanceof ErrorReply && TRANSIENT_REPLY.test(err.message)) ||
    (err instanceof Error && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes((err as NodeJS.ErrnoException).code ?? ''));
  return connection ? errors.storeUnavailable() : null;
}
