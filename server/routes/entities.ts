/** Read API (entities, explain, history, leaderboards, topics) and the admin routes of entities. */
import type { FastifyPluginAsync, FastifySchemaCompiler } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ENTITY_KINDS, EntitySchema, ErrorBodySchema, LEADERBOARD_MAX_LIMIT, LeaderboardSchema, SCOPE_PATTERN } from '../../shared/api.js';
import { AppError, errors } from '../errors.js';
import { requireKey, type AuthConfig } from '../infra/auth.js';
import { ACCOUNT_ID_PATTERN, ENTITY_ID_PATTERN, type Entities } from '../score/entities.js';
import { ClaimedAccountError, HISTORY_RANGES, type HistoryRange, type Reads } from '../score/reads.js';

const LeaderboardQuery = Type.Object({
  scope: Type.Optional(Type.String({ pattern: SCOPE_PATTERN, default: 'global' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LEADERBOARD_MAX_LIMIT, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const HistoryQuery = Type.Object({ range: Type.Optional(Type.Union(Object.keys(HISTORY_RANGES).map((r) => Type.Literal(r)), { default: '24h' })) });
const EntityBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: Type.Union(ENTITY_KINDS.map((k) => Type.Literal(k))),
    accounts: Type.Optional(Type.Array(Type.String({ pattern: ACCOUNT_ID_PATTERN }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
const EntityIdParams = Type.Object({ id: Type.String({ pattern: ENTITY_ID_PATTERN }) });
const AccountBody = Type.Object({ account: Type.String({ pattern: ACCOUNT_ID_PATTERN }) }, { additionalProperties: false });
const AccountParams = Type.Object({ id: Type.String({ pattern: ENTITY_ID_PATTERN }), account: Type.String({ pattern: ACCOUNT_ID_PATTERN }) });
const ChangeReply = Type.Object({ entity: EntitySchema });

/** Validates without coercing or stripping: a wrong type is an error, never repaired. */
const strict: FastifySchemaCompiler<unknown> = ({ schema }) => {
  const c = TypeCompiler.Compile(schema as TSchema);
  return (data: unknown) => {
    if (c.Check(data)) return { value: data };
    const e = c.Errors(data).First();
    return { error: new Error(`${e?.path || 'body'}: ${e?.message ?? 'invalid'}`) };
  };
};

export interface EntityRoutesOptions {
  reads: Reads;
  entities: Entities;
  auth: AuthConfig;
}

const entityRoutes: FastifyPluginAsync<EntityRoutesOptions> = async (app, { reads, entities, auth }) => {
  const readEntity = async (id: string) => {
    try {
      const e = await reads.entity(id);
      if (!e) throw errors.notFound('entity', id);
      return e;
    } catch (err) {
      if (err instanceof ClaimedAccountError) throw new AppError('entity_not_found', 404, `"${id}" is an account of entity "${err.entity}"`, { entity: err.entity });
      throw err;
    }
  };

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/entities/:id',
    { schema: { summary: 'An entity: score, rank, components, topics with evidence', tags: ['read'], params: IdParams, response: { 200: EntitySchema, 404: ErrorBodySchema } } },
    async (req) => readEntity(req.params.id),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/entities/:id/explain',
    { schema: { summary: 'Why the score is what it is: components with weights, top accounts, posts and engagers', tags: ['read'], params: IdParams } },
    async (req) => {
      try {
        const x = await reads.explain(req.params.id);
        if (!x) throw errors.notFound('entity', req.params.id);
        return x;
      } catch (err) {
        if (err instanceof ClaimedAccountError) throw new AppError('entity_not_found', 404, `"${err.account}" is an account of entity "${err.entity}"`, { entity: err.entity });
        throw err;
      }
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/api/entities/:id/history',
    { schema: { summary: 'Score history in time buckets (event time)', tags: ['read'], params: IdParams, querystring: HistoryQuery } },
    async (req) => {
      const h = await reads.history(req.params.id, (req.query.range ?? '24h') as HistoryRange);
      if (!h) throw errors.notFound('entity', req.params.id);
      return h;
    },
  );

  app.get<{ Querystring: Static<typeof LeaderboardQuery> }>(
    '/api/leaderboard',
    { schema: { summary: 'The Pulse leaderboard of a scope', tags: ['read'], querystring: LeaderboardQuery, response: { 200: LeaderboardSchema, 400: ErrorBodySchema } } },
    async (req) => {
      const { scope = 'global', limit = 20, offset = 0 } = req.query;
      return reads.leaderboard(scope, limit, offset);
    },
  );

  app.get('/api/topics', { schema: { summary: 'Topics with their number of qualified entities', tags: ['read'] } }, async () => ({ topics: await reads.topics() }));

  const admin = { onRequest: requireKey(auth, 'admin'), validatorCompiler: strict };
  const changed = async (id: string) => ({ entity: await readEntity(id) });

  app.put<{ Params: Static<typeof EntityIdParams>; Body: Static<typeof EntityBody> }>(
    '/api/entities/:id',
    {
      ...admin,
      schema: { summary: 'Create or update an entity', tags: ['admin'], security: [{ bearer: [] }], params: EntityIdParams, body: EntityBody, response: { 200: ChangeReply, 201: ChangeReply, 409: ErrorBodySchema } },
    },
    async (req, reply) => {
      const r = await entities.put(req.params.id, req.body);
      return reply.code(r.created ? 201 : 200).send(await changed(req.params.id));
    },
  );

  app.post<{ Params: Static<typeof EntityIdParams>; Body: Static<typeof AccountBody> }>(
    '/api/entities/:id/accounts',
    { ...admin, schema: { summary: 'Connect an account', tags: ['admin'], security: [{ bearer: [] }], params: EntityIdParams, body: AccountBody, response: { 200: ChangeReply, 404: ErrorBodySchema, 409: ErrorBodySchema } } },
    async (req) => {
      await entities.connect(req.params.id, req.body.account);
      return changed(req.params.id);
    },
  );

  app.delete<{ Params: Static<typeof AccountParams> }>(
    '/api/entities/:id/accounts/:account',
    { ...admin, schema: { summary: 'Disconnect an account', tags: ['admin'], security: [{ bearer: [] }], params: AccountParams, response: { 200: ChangeReply, 404: ErrorBodySchema } } },
    async (req) => {
      await entities.disconnect(req.params.id, req.params.account);
      return changed(req.params.id);
    },
  );
};

export default entityRoutes;
