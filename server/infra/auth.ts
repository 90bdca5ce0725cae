/**
 * Bearer-key guards. Ingest routes take an ingest key (or the admin key);
 * admin routes take the admin key. With no key configured at all the server
 * runs open, which `server.ts` allows only on a loopback address.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

export type KeyKind = 'ingest' | 'admin';

export interface AuthConfig {
  ingestKeys: string[];
  adminKey: string | undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function isOpen(cfg: AuthConfig): boolean {
  return cfg.ingestKeys.length === 0 && cfg.adminKey === undefined;
}

/** Checks a raw `Authorization` header (HTTP or WebSocket upgrade). */
export function authorized(cfg: AuthConfig, kind: KeyKind, header: string | undefined): boolean {
  if (isOpen(cfg)) return true;
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const key = m?.[1]?.trim();
  if (!key) return false;
  const allowed = kind === 'ingest' ? [...cfg.ingestKeys, ...(cfg.adminKey ? [cfg.adminKey] : [])] : cfg.adminKey ? [cfg.adminKey] : [];
  return allowed.some((k) => same(k, key));
}

/** A hook (onRequest, so before any body is read) that answers 401 without the right key. */
export function requireKey(cfg: AuthConfig, kind: KeyKind) {
  return async (req: FastifyRequest): Promise<void> => {
    if (!authorized(cfg, kind, req.headers.authorization)) throw errors.unauthorized(kind);
  };
}
