/** Read API: entities and leaderboards. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { EntitySchema, ErrorBodySchema, LEADERBOARD_MAX_LIMIT, LeaderboardSchema, SCOPE_PATTERN } from '../../shared/api.js';
import { errors } from '../errors.js';
import type { ScoreStore } from '../score/store.js';

const LeaderboardQuery = Type.Object({
  scope: Type.Optional(Type.String({ pattern: SCOPE_PATTERN, default: 'global' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LEADERBOARD_MAX_LIMIT, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
});

const EntityParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

const entityRoutes: FastifyPluginAsync<{ store: ScoreStore }> = async (app, { store }) => {
  app.get<{ Params: Static<typeof EntityParams> }>(
    '/api/entities/:id',
    {
      schema: {
        summary: 'An entity: score, rank, components, topics',
        tags: ['read'],
        params: EntityParams,
        response: { 200: EntitySchema, 404: ErrorBodySchema },
      },
    },
    async (req) => {
      const entity = await store.entity(req.params.id);
      if (!entity) throw errors.notFound('entity', req.params.id);
      return entity;
    },
  );

  app.get<{ Querystring: Static<typeof LeaderboardQuery> }>(
    '/api/leaderboard',
    {
      schema: {
        summary: 'The Pulse leaderboard of a scope',
        tags: ['read'],
        querystring: LeaderboardQuery,
        response: { 200: LeaderboardSchema, 400: ErrorBodySchema },
      },
    },
    async (req) => {
      const { scope = 'global', limit = 20, offset = 0 } = req.query;
      return store.leaderboard(scope, limit, offset);
    },
  );
};

export default entityRoutes;
