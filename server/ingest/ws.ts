/**
 * Streaming ingest, `GET /ws/ingest` (ingest key in `Authorization: Bearer`,
 * or `?key=` for clients that cannot set headers). Each text frame is one
 * event, a JSON array or NDJSON; frames are handled in order and each is
 * answered `{ type: "ack", accepted, duplicates, rejected }` once its events
 * are durable.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { RawData } from 'ws';
import type { IngestAck } from '../../shared/live.js';
import { AppError } from '../errors.js';
import { authorized, type AuthConfig } from '../infra/auth.js';
import type { Ingest, Intake } from './ingest.js';

export const INGEST_WS_PATH = '/ws/ingest';

const wsIngest: FastifyPluginAsync<{ ingest: Ingest; intake: Intake; auth: AuthConfig }> = async (app, { ingest, intake, auth }) => {
  app.get<{ Querystring: { key?: string } }>(
    INGEST_WS_PATH,
    {
      websocket: true,
      schema: { hide: true },
      // Refused before the upgrade: a 401, not a socket that closes.
      preValidation: async (req, reply) => {
        const header = req.headers.authorization ?? (req.query.key ? `Bearer ${req.query.key}` : undefined);
        if (!authorized(auth, 'ingest', header)) {
          await reply.code(401).send({ error: { code: 'unauthorized', message: 'a valid ingest key is required (Authorization: Bearer <key>, or ?key=)' } });
        }
      },
    },
    (socket) => {
      let chain: Promise<void> = Promise.resolve();
      const send = (msg: IngestAck) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
      };
      // Too many events, the brake (scoring behind) and a store that cannot be reached say so (the producer sends
      // again); anything else is logged.
      const refuse = (err: unknown) => {
        // Ingest already turns a store it cannot reach into its 503.
        if (err instanceof AppError && (err.statusCode === 503 || err.code === 'too_many_events')) {
          send({ type: 'error', error: { code: err.code, message: err.message } });
          return;
        }
        app.log.error({ err }, 'ws ingest failed');
        send({ type: 'error', error: { code: 'unavailable', message: 'the events could not be stored; send them again' } });
      };
      socket.on('message', (data: RawData, isBinary: boolean) => {
        chain = chain.then(async () => {
          if (isBinary) {
            send({ type: 'error', error: { code: 'binary_frame', message: 'send events as text frames' } });
            return;
          }
          // While scoring is behind, a frame is refused before it is parsed.
          try {
            await ingest.ensureCapacity();
          } catch (err) {
            refuse(err);
            return;
          }
          try {
            const r = await intake.ingestText('frame', data.toString());
            send({ type: 'ack', ...r });
          } catch (err) {
            refuse(err);
          }
        });
      });
    },
  );
};

export default wsIngest;
