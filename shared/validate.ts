/**
 * Validation of schema v1 events. Structure is checked by the compiled TypeBox
 * schema (no coercion, no stripping: a wrong type is rejected, never repaired);
 * the rules that span fields (target, topics, per-type fields, time) follow.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import {
  ActivityEventSchema,
  isWellFormed,
  TEXT_FIELDS,
  MAX_FUTURE_MS,
  REJECT_CODES,
  topicSlug,
  TOPIC_TYPES,
  UNTARGETED_TYPES,
  type ActivityEvent,
  type NormalizedEvent,
  type RejectCode,
} from './event.js';

const compiled = TypeCompiler.Compile(ActivityEventSchema);

export type ValidationResult =
  | { ok: true; event: NormalizedEvent }
  | { ok: false; code: RejectCode; message: string };

function reject(code: RejectCode, message: string): ValidationResult {
  return { ok: false, code, message };
}

/** Which per-type fields are allowed on which types. */
const ONLY_ON: Record<'followers' | 'name' | 'value', ReadonlySet<string>> = {
  followers: new Set(['profile']),
  name: new Set(['profile']),
  value: new Set(['conversion']),
};

/**
 * Validates one event and normalises it (`ts` to epoch ms). `now` is the
 * receiving clock, against which "at most 5 minutes in the future" is judged.
 */
export function validateEvent(input: unknown, now: number): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return reject(REJECT_CODES.notAnObject, 'an event must be a JSON object');
  }
  if (!compiled.Check(input)) {
    const first = compiled.Errors(input).First();
    if (!first) return reject(REJECT_CODES.invalidField, 'the event does not match schema v1');
    const field = first.path.replace(/^\//, '').split('/')[0] || '(event)';
    if (first.type === ValueErrorType.ObjectRequiredProperty) {
      return reject(REJECT_CODES.missingField, `"${field}" is required`);
    }
    if (first.type === ValueErrorType.ObjectAdditionalProperties) {
      const extra = Object.keys(input).find((k) => !(k in ActivityEventSchema.properties));
      return reject(REJECT_CODES.unknownField, `"${extra ?? field}" is not a field of schema v1`);
    }
    return reject(REJECT_CODES.invalidField, `"${first.path.replace(/^\//, '') || field}": ${first.message}`);
  }
  const e = input as ActivityEvent;
  for (const field of TEXT_FIELDS) {
    const v = (e as Record<string, unknown>)[field];
    const list = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as string[]) : [];
    if (!list.every(isWellFormed)) return reject(REJECT_CODES.invalidField, `"${field}" is not well-formed Unicode: it holds half of a surrogate pair`);
  }
  if (!UNTARGETED_TYPES.has(e.type) && e.target === undefined) {
    return reject(REJECT_CODES.targetRequired, `"target" is required on a ${e.type} event`);
  }
  for (const [field, types] of Object.entries(ONLY_ON)) {
    if ((e as Record<string, unknown>)[field] !== undefined && !types.has(e.type)) {
      return reject(REJECT_CODES.fieldNotAllowed, `"${field}" is only allowed on ${[...types].join(', ')} events`);
    }
  }
  if (e.topics !== undefined && !TOPIC_TYPES.has(e.type)) {
    return reject(REJECT_CODES.fieldNotAllowed, '"topics" is only allowed on post, reply and endorse events');
  }
  if (e.type === 'endorse' && e.topics?.length !== 1) {
    return reject(REJECT_CODES.endorseNeedsOneTopic, 'an endorse event names exactly one topic');
  }
  if (e.type === 'profile' && e.target !== undefined) {
    return reject(REJECT_CODES.fieldNotAllowed, '"target" is not allowed on a profile event');
  }
  let topics: string[] | undefined;
  if (e.topics !== undefined) {
    topics = [];
    for (const raw of e.topics) {
      const slug = topicSlug(raw);
      if (slug === null) return reject(REJECT_CODES.invalidField, `"topics": ${JSON.stringify(raw)} has no letters or digits to make a topic of`);
      if (!topics.includes(slug)) topics.push(slug);
    }
  }
  const ts = typeof e.ts === 'number' ? e.ts : Date.parse(e.ts);
  if (!Number.isFinite(ts) || ts < 0) {
    return reject(REJECT_CODES.invalidTs, `"ts" is not a valid time: ${JSON.stringify(e.ts)}`);
  }
  if (ts > now + MAX_FUTURE_MS) {
    return reject(REJECT_CODES.tsInFuture, `"ts" is more than 5 minutes in the future (${new Date(ts).toISOString()})`);
  }
  return { ok: true, event: { ...e, ...(topics ? { topics } : {}), ts } };
}
