/**
 * HTTP API shapes (CONTRACT.md §3), written once: Fastify serialises and
 * documents with them, the web reads its types from them.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
 
);
export type ErrorBody = Static<typeof ErrorBodySchema>;

export const RejectionSchema = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  code: Type.String(),
  message: Type.String(),
});
export type Rejection = Static<typeof RejectionSchema>;

export const IngestResultSchema = Type.Object(
  {
    accepted: Type.Integer({ minimum: 0, description: 'new events, durable in the stream' }),
    duplicates: Type.Integer({ minimum: 0, description: 'repeated ids inside the deduplication window: acknowledged, not counted again' }),
    rejected: Type.Array(RejectionSchema),
  },
 
);
export type IngestResult = Static<typeof IngestResultSchema>;

export const ENTITY_KINDS = ['person', 'brand'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export const ComponentsSchema = Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 100 }), {
  description: 'named parts of the score, each 0-100',
});

export const TopicScoreSchema = Type.Object({
  topic: Type.String(),
  score: Type.Number(),
  evidence: Type.Object({
    posts: Type.Integer(),
    days: Type.Integer(),
    engagers: Type.Integer(),
    endorsements: Type.Integer(),
  }),
});

export const EntitySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    kind: Type.Union(ENTITY_KINDS.map((k) => Type.Literal(k))),
    accounts: Type.Array(Type.String()),
    score: Type.Number({ minimum: 1, maximum: 100 }),
    rank: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    components: ComponentsSchema,
    topics: Type.Array(TopicScoreSchema),
    updatedAt: Type.String({ description: 'ISO-8601: event time of the latest activity applied' }),
  },
 
);
export type Entity = Static<typeof EntitySchema>;

export const LeaderboardEntrySchema = Type.Object({
  rank: Type.Integer({ minimum: 1 }),
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union(ENTITY_KINDS.map((k) => Type.Literal(k))),
  score: Type.Number(),
  delta: Type.Number({ description: 'the score change of the entity’s latest update' }),
});
export type LeaderboardEntry = Static<typeof LeaderboardEntrySchema>;

export const LeaderboardSchema = Type.Object(
  {
    scope: Type.String(),
    entries: Type.Array(LeaderboardEntrySchema),
    total: Type.Integer({ minimum: 0 }),
    updatedAt: Type.String(),
  },
 
);
export type Leaderboard = Static<typeof LeaderboardSchema>;

export const LEADERBOARD_MAX_LIMIT = 500;
/** Scopes served in this version; `topic:`, `network:` and `kind:` follow the same shape. */
export const SCOPE_PATTERN = '^(global|topic:[a-z0-9][a-z0-9-]{0,47}|network:[a-z0-9][a-z0-9-]{0,31}|kind:(person|brand))$';
