/**
 * POST /api/events: one event, a JSON array of at most 10,000, or NDJSON.
 * Bodies are taken as text, not parsed by Fastify's defaults, and parsed by
 * intake (`readEvents`, in an intake thread or this one), so a wrong type is
 * rejected rather than coerced, a bad NDJSON line rejects only that line,
 * and other content types get 415.
 */
import type { FastifyPluginAsync } from 'fastify';
import { IngestResultSchema, ErrorBodySchema } from '../../shared/api.js';
import { ActivityEventSchema, MAX_EVENTS_PER_REQUEST } from '../../shared/event.js';
import { requireKey, type AuthConfig } from '../infra/auth.js';
import type { Ingest, Intake } from './ingest.js';

/** Room for 10,000 events of the largest legal size is ~25 MB; typical events are ~250 bytes. */
export const INGEST_BODY_LIMIT = 16 * 1024 * 1024;

export interface IngestRoutesOptions {
  /** The brake (`ensureCapacity`), asked in this thread before a body is read. */
  ingest: Ingest;
  /** Where bodies go: `ingest` itself, or intake threads. */
  intake: Intake;
  auth: AuthConfig;
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
      const result = await opts.intake.ingestText(ndjson ? 'ndjson' : 'json', raw);
      return reply.code(202).send(result);
    },
  );
};

export default ingestRoutes;
