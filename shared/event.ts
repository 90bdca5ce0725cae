/**
 * Activity event, schema v1 (CONTRACT.md §1). Written once; the server validates
 * with it, the OpenAPI document is generated from it and the web imports its types.
 */
import { Type, type Static } from '@sinclair/typebox';

export const EVENT_TYPES = [
  'profile',
  'post',
  'reply',
  'share',
  'like',
  'mention',
  'follow',
  'unfollow',
  'click',
  'conversion',
  'endorse',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Types whose event needs no `target`. */
export const UNTARGETED_TYPES: ReadonlySet<EventType> = new Set(['profile', 'post']);
/** Types that may carry `topics`. */
export const TOPIC_TYPES: ReadonlySet<EventType> = new Set(['post', 'reply', 'endorse']);
/** Types on which `post` (the post acted on, or the new post's id) is meaningful. */
export const POST_TYPES: ReadonlySet<EventType> = new Set(['post', 'reply', 'share', 'like', 'click', 'conversion']);

export const NETWORK_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';
export const TOPIC_PATTERN = '^[a-z0-9][a-z0-9-]{0,47}$';
/** ISO-8601 date-time with a zone (Z or ±hh:mm). */
export const ISO_TS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})$';
/** An event may be stamped at most this far in the future. */
export const MAX_FUTURE_MS = 5 * 60_000;
/** Largest array accepted by one ingest call. */
export const MAX_EVENTS_PER_REQUEST = 10_000;

export const ActivityEventSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200, description: 'unique per producer; repeats inside the deduplication window are duplicates' }),
    network: Type.String({ pattern: NETWORK_PATTERN, description: 'x, bluesky, mastodon, linkedin, youtube, blog, web, ...' }),
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    actor: Type.String({ minLength: 1, maxLength: 100, description: 'the handle that acted, on `network`' }),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'the handle acted upon; required except on profile and post' })),
    post: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    topics: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: 10,
        description: 'slugs; hashtags and names are normalised to slugs ("#Machine Learning" → "machine-learning")',
      }),
    ),
    followers: Type.Optional(Type.Integer({ minimum: 0, description: 'profile only: audience size now' })),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'profile only: display name' })),
    value: Type.Optional(Type.Number({ minimum: 0, description: 'conversion only: money value' })),
    ts: Type.Union([Type.String({ pattern: ISO_TS_PATTERN }), Type.Integer({ minimum: 0 })], {
      description: 'ISO-8601 with zone, or epoch milliseconds; at most 5 minutes in the future',
    }),
  },
  { additionalProperties: false },
);

/** An event as a producer sends it. */
export type ActivityEvent = Static<typeof ActivityEventSchema>;

/** An event after validation: `ts` is epoch milliseconds. This is what the stream holds. */
export type NormalizedEvent = Omit<ActivityEvent, 'ts'> & { ts: number };

/** Codes of a rejected event; stable, clients may branch on them. */
export const REJECT_CODES = {
  notAnObject: 'not_an_object',
  missingField: 'missing_field',
  unknownField: 'unknown_field',
  invalidField: 'invalid_field',
  targetRequired: 'target_required',
  fieldNotAllowed: 'field_not_allowed',
  endorseNeedsOneTopic: 'endorse_needs_one_topic',
  invalidTs: 'invalid_ts',
  tsInFuture: 'ts_in_future',
  invalidJson: 'invalid_json',
} as const;
export type RejectCode = (typeof REJECT_CODES)[keyof typeof REJECT_CODES];

/**
 * A topic or hashtag as a slug: lower case, accents and a leading `#`
 * dropped, every run of other characters a single `-`, at most 48 long.
 * Null when nothing is left.
 */
export function topicSlug(raw: string): string | null {
  const slug = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/^#+/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return new RegExp(TOPIC_PATTERN).test(slug) ? slug : null;
}

/** The event's free-text fields (the others have patterns), each a string or, for `topics`, a list of them. */
export const TEXT_FIELDS = ['id', 'actor', 'target', 'post', 'name', 'topics'] as const;

/**
 * Whether a string is well-formed Unicode: no UTF-16 surrogate without its
 * pair. JSON can carry one (`"\\ud800"`), but it is not Unicode: Redis would
 * store it as U+FFFD (so two such ids would collide) and the Lua scripts'
 * JSON decoder refuses it.
 */
export function isWellFormed(s: string): boolean {
  return s.isWellFormed();
}

/** The string with each lone surrogate replaced by U+FFFD, as Redis stores it. */
export function wellFormed(s: string): string {
  return s.toWellFormed();
}

/** An account id: `network:handle`. */
export function accountId(network: string, handle: string): string {
  return `${network}:${handle}`;
}
