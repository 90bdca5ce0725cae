/**
 * POST /api/events: one event, a JSON array of at most 10,000, or NDJSON.
 * Bodies are parsed here, not by Fastify's defaults, so a wrong type is
 * rejected rather than coerced, a bad NDJSON line rejects only that line,
 * and other content types get 415.
 */
import type { FastifyPluginAsync } from 'fastify';
import { IngestResultSchema, ErrorBodySchema } from '../../shared/api.js';
import { ActivityEventSchema, MAX_EVENTS_PER_REQUEST } from '../../shared/event.js';
import { errors } from '../errors.js';
import { requireKey, type AuthConfig } from '../infra/auth.js';
import { UnparsableItem, type Ingest } from './ingest.js';

/** Room for 10,000 events of the largest legal size is ~25 MB; typical events are ~250 bytes. */
export const INGEST_BODY_LIMIT = 16 * 1024 * 1024;

export interface IngestRoutesOptions {
  ingest: Ingest;
  auth: AuthConfig;
}

/** Splits an NDJSON body into parsed values; a line that does not parse becomes an UnparsableItem. */
export function parseNdjson(body: string): unknown[] {
  const out: unknown[] = [];
  for (const line of body.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    try {
      out.push(JSON.parse(text));
    } catch (err) {
      out.push(new UnparsableItem(`line is not valid JSON: ${(err as Error).message}`));
    }
  }
  return out;
}

/** A JSON body: one event or an array of events. */
export function parseJsonBody(body: string): unknown[] {
  if (body.trim() === '') throw errors.emptyBody();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
  return Array.isArray(value) ? value : [value];
}

const ingestRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, opts) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/x-ndjson'], { parseAs: 'string', bodyLimit: INGEST_BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  app.post(
    '/api/events',
    {
      bodyLimit: INGEST_BODY_LIMIT,
      // Keys first, then the brake: while scoring is behind, a request is refused before its body is read or parsed.
      onRequest: [requireKey(opts.auth, 'ingest'), () => opts.ingest.ensureCapacity()],
      schema: {
        summary: 'Ingest activity events',
        description:
          'One event, a JSON array of at most 10,000 events, or NDJSON (application/x-ndjson). Answers once the accepted events are durable.',
        tags: ['ingest'],
        security: [{ bearer: [] }],
        consumes: ['application/json', 'application/x-ndjson'],
        body: { oneOf: [ActivityEventSchema, { type: 'array', items: ActivityEventSchema, maxItems: MAX_EVENTS_PER_REQUEST }] },
        response: { 202: IngestResultSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema, 503: ErrorBodySchema },
      },
      // The schema above documents the body; validation is per event, in the ingest service.
      validatorCompiler: () => () => true,
    },
    async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const ndjson = (req.headers['content-type'] ?? '').startsWith('application/x-ndjson');
      const items = ndjson ? parseNdjson(raw) : parseJsonBody(raw);
      if (items.length === 0) throw errors.emptyBody();
      if (items.length > MAX_EVENTS_PER_REQUEST) throw errors.tooManyEvents(items.length, MAX_EVENTS_PER_REQUEST);
      const result = await opts.ingest.ingest(items);
      return reply.code(202).send(result);
    },
  );
};

export default ingestRoutes;
