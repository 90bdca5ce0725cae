/**
 * Score badges: `GET /api/badge/:id` in shields.io's endpoint format
 * (https://shields.io/badges/endpoint-badge) and `GET /api/badge/:id.svg`.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../errors.js';
import type { Reads } from '../score/reads.js';

export function badgeColor(score: number): string {
  if (score >= 80) return 'brightgreen';
  if (score >= 60) return 'green';
  if (score >= 40) return 'yellowgreen';
  if (score >= 20) return 'yellow';
  return 'lightgrey';
}

const HEX: Record<string, string> = { brightgreen: '#4c1', green: '#97ca00', yellowgreen: '#a4a61d', yellow: '#dfb317', lightgrey: '#9f9f9f' };

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A flat two-part badge; widths from a per-character estimate (Verdana 11px ≈ 7 px a character). */
export function badgeSvg(label: string, message: string, color: string): string {
  const w = (s: string) => Math.round(s.length * 7 + 10);
  const lw = w(label);
  const mw = w(message);
  const fill = HEX[color] ?? '#9f9f9f';
  const l = escapeXml(label);
  const m = escapeXml(message);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lw + mw}" height="20" role="img" aria-label="${l}: ${m}"><title>${l}: ${m}</title><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${fill}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="${lw / 2}" y="14">${l}</text><text x="${lw + mw / 2}" y="14">${m}</text></g></svg>`;
}

const badgeRoutes: FastifyPluginAsync<{ reads: Reads }> = async (app, { reads }) => {
  app.get<{ Params: { id: string } }>(
    '/api/badge/:id',
    { schema: { summary: 'A score badge: shields.io endpoint JSON, or SVG when the id ends in .svg', tags: ['read'] } },
    async (req, reply) => {
      const raw = req.params.id;
      const svg = raw.endsWith('.svg');
      const id = svg ? raw.slice(0, -4) : raw;
      const e = await reads.entity(id).catch(() => null);
      if (!e) throw errors.notFound('entity', id);
      const message = e.score.toFixed(1);
      const color = badgeColor(e.score);
      reply.header('cache-control', 'public, max-age=60');
      if (svg) return reply.type('image/svg+xml; charset=utf-8').send(badgeSvg('resonance', message, color));
      return { schemaVersion: 1, label: 'resonance', message, color, cacheSeconds: 60 };
    },
  );
};

export default badgeRoutes;
