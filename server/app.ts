/**
 * The root plugin: infrastructure → store → pipeline → push → routes, each
 * stage registered only for the roles this process runs. Tests register it on
 * a fresh Fastify instance; `server.ts` adds only process concerns.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger, FastifyError, FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import { Subject, type Observable } from 'rxjs';
import type { Config } from './config.js';
import { AppError, errors, storeError } from './errors.js';
import { isOpen } from './infra/auth.js';
import redisPlugin, { connectRedis, listpackWarning } from './infra/redis.js';
import { createIngest, type Ingest, type Intake } from './ingest/ingest.js';
import { startIntakeThreads, type IntakeThreads } from './ingest/threads.js';
import ingestRoutes from './ingest/routes.js';
import wsIngest from './ingest/ws.js';
import framing from './infra/framing.js';
import badgeRoutes from './routes/badge.js';
import { startPipeline, type Pipeline } from './pipeline/pipeline.js';
import { LiveHub } from './push/hub.js';
import { PublishPace } from './push/pace.js';
import socketIoPlugin from './push/socketio.js';
import wsLive from './push/ws.js';
import entityRoutes from './routes/entities.js';
import healthRoutes from './routes/health.js';
import { createEntities, type Entities } from './score/entities.js';
import { checkLandmark, modelParams } from './score/model.js';
import { archiveDirFor, startArchiver, type Archiver } from './score/archive.js';
import { dropLegacyKeys } from './score/legacy.js';
import { createReads } from './score/reads.js';
import { createScoreStore, type ScoreChange } from './score/store.js';

export type AppOptions = Omit<Config, 'redisUrl' | 'port' | 'host' | 'dataDir' | 'source' | 'demoRate' | 'demoSeed' | 'logLevel' | 'maxLag' | 'ingestThreads'> & {
  /** Events not yet scored beyond which ingest answers 503 (default: no limit). */
  maxLag?: number;
  /** Intake threads (default 0: bodies are parsed, validated and appended in the main thread). */
  ingestThreads?: number;
  redisUrl: string;
  /** Built web files; defaults to dist/web beside the sources. */
  webDir?: string;
};

declare module 'fastify' {
  interface FastifyInstance {
    ingest: Ingest | null;
    /** Null when bodies are handled in the main thread (INGEST_THREADS 0) or this process does not ingest. */
    intakeThreads: IntakeThreads | null;
    pipeline: Pipeline | null;
    archiver: Archiver | null;
    hub: LiveHub | null;
    /** How often live channels may publish now (null: this process does not push). */
    pace: PublishPace | null;
    entities: Entities;
  }
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Fastify's server options that every process serving the app needs. An
 * account id (a network, ':', a handle of up to 100 characters) is a path
 * parameter of the API and the pages, and Fastify answers 414 for a
 * parameter longer than `maxParamLength` (100 by default), counted as sent:
 * percent-encoded, one character of a handle takes up to 12.
 */
export const SERVER_OPTIONS = { forceCloseConnections: true, routerOptions: { maxParamLength: 2048 } } as const;

/** dist/web, whether running from sources (server/) or from the build (dist/server/). */
export function defaultWebDir(): string {
  const candidates = [resolve(here, '../dist/web'), resolve(here, '../web')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

const app: FastifyPluginAsync<AppOptions> = async (fastify, opts) => {
  // While Redis is away every request fails the same way: said once every 5 s, with how many were refused.
  let downSaidAt = 0;
  let downRefused = 0;
  const storeDown = (log: FastifyBaseLogger, err: unknown) => {
    downRefused += 1;
    if (Date.now() - downSaidAt < 5000) return;
    log.warn({ err, refused: downRefused }, 'the store (Redis) cannot be reached; answering 503');
    downSaidAt = Date.now();
    downRefused = 0;
  };
  fastify.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    const mapped = mapFastifyError(err, String(req.headers['content-type'] ?? 'none')) ?? storeError(err);
    if (mapped?.code === 'store_unavailable') storeDown(req.log, err);
    if (mapped?.headers) reply.headers(mapped.headers);
    if (mapped) return reply.code(mapped.statusCode).send({ error: { code: mapped.code, message: mapped.message, ...(mapped.details ? { details: mapped.details } : {}) } });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error; the server log has the details' } });
  });

  await fastify.register(framing, { embedOrigins: opts.embedOrigins });
  await fastify.register(redisPlugin, { url: opts.redisUrl, keyPrefix: opts.keyPrefix });
  await fastify.register(fastifySwagger, {
    openapi: {
      info: { title: 'Resonance API', version: '1', description: 'Real-time, explainable social influence scores.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await fastify.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await fastify.register(fastifyWebsocket, { options: { maxPayload: 16 * 1024 * 1024 } });

  const { redis, keys } = fastify;
  const params = modelParams(opts.halfLifeDays);
  const landmarkProblem = checkLandmark(params, Date.now() + 365 * 86_400_000);
  if (landmarkProblem) throw new Error(landmarkProblem);
  const store = createScoreStore(redis, keys, params);
  const reads = createReads(redis, keys, store, params);
  const auth = { ingestKeys: opts.ingestKeys, adminKey: opts.adminKey };
  const changesChannel = `${opts.keyPrefix}:changes`;
  const changes = new Subject<ScoreChange[]>();

  fastify.decorate('ingest', null);
  fastify.decorate('intakeThreads', null);
  fastify.decorate('pipeline', null);
  fastify.decorate('archiver', null);
  fastify.decorate('hub', null);
  fastify.decorate('pace', null);

  if (opts.roles.has('ingest')) {
    const ingest = createIngest(redis, keys, { windowSec: opts.dedupeWindowSec, maxLag: opts.maxLag });
    fastify.ingest = ingest;
    // The brake is asked here, before a body is read; the bodies themselves go to intake threads, if any.
    let intake: Intake = ingest;
    if ((opts.ingestThreads ?? 0) > 0) {
      const data = { redisUrl: opts.redisUrl, keyPrefix: opts.keyPrefix, windowSec: opts.dedupeWindowSec, maxLag: opts.maxLag ?? Infinity };
      const threads = await startIntakeThreads(opts.ingestThreads!, data, ingest.stats, fastify.log);
      fastify.addHook('onClose', async () => threads.close());
      fastify.intakeThreads = threads;
      intake = threads;
    }
    await fastify.register(ingestRoutes, { ingest, intake, auth });
    await fastify.register(wsIngest, { ingest, intake, auth });
  }

  if (opts.roles.has('score')) {
    fastify.addHook('onReady', async () => {
      const layout = await listpackWarning(redis);
      if (layout) fastify.log.warn(layout);
      dropLegacyKeys(redis, keys).then(
        (n) => n > 0 && fastify.log.info({ keys: n }, 'deleted keys that earlier versions wrote and nothing reads'),
        (err: unknown) => fastify.log.warn({ err }, 'could not delete the keys of earlier versions; they take memory but change nothing'),
      );
      fastify.pipeline = await startPipeline({
        redisUrl: opts.redisUrl,
        redis,
        keys,
        store,
        params,
        consumer: `${hostname()}-${process.pid}`,
        batchMaxSize: opts.batchMaxSize,
        batchMaxWaitMs: opts.batchMaxWaitMs,
        writeEveryMs: opts.writeEveryMs,
        log: fastify.log,
        changes,
        // Entities on someone's screen through this process are stored first in each score write.
        watched: (id) => (fastify.hub?.subscribers(`entity:${id}`) ?? 0) > 0,
        sweepStaleMs: params.halfLifeMs / 720,
      });
      if (opts.archiveDir) {
        const dir = archiveDirFor(opts.archiveDir, opts.keyPrefix);
        fastify.archiver = startArchiver({ redis, keys, dir, log: fastify.log, instance: `${hostname()}-${process.pid}-${keys.base}` });
        fastify.log.info({ dir }, 'scored events are archived here, then trimmed from the stream');
      }
    });
    fastify.addHook('preClose', async () => {
      await fastify.pipeline?.stop();
      await fastify.archiver?.stop();
    });
    // Another process pushes: hand it the changes through Redis.
    if (!opts.roles.has('push')) changes.subscribe((c) => void redis.publish(changesChannel, JSON.stringify(c)).catch(() => {}));
  }

  if (opts.roles.has('push')) {
    // Channels publish up to 10 times a second, less often while this process is saturated.
    fastify.pace = new PublishPace();
    const pace = fastify.pace;
    const stopPace = pace.start();
    fastify.addHook('onClose', async () => stopPace());
    const hub = new LiveHub(
      {
        entity: (id) => reads.entity(id).catch(() => null),
        leaderboard: (scope, limit) => reads.leaderboard(scope, limit, 0),
        names: (ids) => Promise.all(ids.map((id) => redis.hGet(keys.score(id), 'name').then((n) => n ?? null))),
      },
      (err) => fastify.log.warn({ err }, 'live publish failed'),
      undefined,
      () => pace.interval,
    );
    fastify.hub = hub;
    let source: Observable<ScoreChange[]> = changes;
    if (!opts.roles.has('score')) {
      const sub = await connectRedis(opts.redisUrl, 'resonance-changes');
      const remote = new Subject<ScoreChange[]>();
      await sub.subscribe(changesChannel, (msg) => remote.next(JSON.parse(msg) as ScoreChange[]));
      fastify.addHook('onClose', async () => void (await sub.close().catch(() => sub.destroy())));
      source = remote;
    }
    hub.start(source);
    fastify.addHook('preClose', async () => hub.stop());
    await fastify.register(socketIoPlugin, { hub });
    await fastify.register(wsLive, { hub });
  }

  fastify.decorate('entities', createEntities(redis, keys, store, (c) => changes.next(c)));
  await fastify.register(entityRoutes, { reads, entities: fastify.entities, auth });
  await fastify.register(badgeRoutes, { reads });
  await fastify.register(healthRoutes, {
    redis,
    keys,
    gauges: {
      pipeline: () => fastify.pipeline?.stats ?? null,
      archiver: () => fastify.archiver?.stats ?? null,
      ingest: () => fastify.ingest?.stats ?? null,
      liveClients: () => (fastify.hasDecorator('io') ? fastify.io.of('/live').sockets.size : 0),
      livePublishInterval: () => fastify.pace?.interval ?? null,
      intakeThreads: () => fastify.intakeThreads?.running ?? null,
    },
  });

  const webDir = opts.webDir ?? defaultWebDir();
  const hasWeb = existsSync(join(webDir, 'index.html'));
  if (hasWeb) await fastify.register(fastifyStatic, { root: webDir, prefix: '/', wildcard: false, index: ['index.html'] });

  fastify.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    // Entity ids may hold dots (blog:example.com), so /e/ and /embed/ pages are pages whatever their last segment.
    const last = path.slice(path.lastIndexOf('/') + 1);
    const isPage =
      req.method === 'GET' && !path.startsWith('/api/') && !path.startsWith('/ws/') && (!last.includes('.') || path.startsWith('/e/') || path.startsWith('/embed/'));
    const isEmbed = path.startsWith('/embed/') && existsSync(join(webDir, 'embed.html'));
    if (isPage && hasWeb) return reply.type('text/html').sendFile(isEmbed ? 'embed.html' : 'index.html');
    const e = errors.routeNotFound(req.method, path);
    return reply.code(404).send({ error: { code: e.code, message: e.message } });
  });

  if (isOpen(auth)) fastify.log.warn('no INGEST_KEYS or ADMIN_KEY configured: writes are open to anyone who can reach this loopback address');
};

/** Fastify's own errors, answered with the API's codes. */
function mapFastifyError(err: FastifyError, contentType: string): AppError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(contentType.split(';')[0]!.trim());
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large', 413, err.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.emptyBody();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.invalidRequest(err.message);
    default:
      break;
  }
  // Schemas checked by Fastify's compiler carry `validation`; the admin routes' strict compiler gives FST_ERR_VALIDATION alone.
  if (err.validation || err.code === 'FST_ERR_VALIDATION') return errors.invalidRequest(err.message, err.validation);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError(err.code?.toLowerCase() ?? 'bad_request', err.statusCode, err.message);
  }
  return null;
}

export default fp(app, { name: 'resonance', fastify: '5.x' });
