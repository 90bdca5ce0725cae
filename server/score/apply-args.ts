/**
 * A batch's deltas as the APPLY script takes them (`scripts.ts`): one
 * argument per account that changes state, as compact as APPLY can read it.
 */
import type { AccountDelta } from './aggregate.js';

/**
 * JSON has no Infinity or NaN (they become null, which Lua cannot pass to
 * Redis): a non-finite amount would make a batch fail for ever, so it counts
 * as nothing instead.
 */
function finiteOnly(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? 0 : value;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/**
 * A delta as APPLY reads it: what it changes, without the empty lists and
 * maps and the zero amounts (APPLY takes a missing one as empty or 0; every
 * table cjson builds is Lua work in Redis, the store's busiest process), and
 * without `knownFirst`, which only decides whether it is sent. Only `id` and
 * `first` left: the delta only says the account was seen (it acted on others).
 */
function changes(d: AccountDelta): Partial<AccountDelta> {
  const value: Partial<AccountDelta> = { id: d.id, first: d.first };
  if (d.last !== 0) value.last = d.last;
  if (d.followers) value.followers = d.followers;
  if (d.name) value.name = d.name;
  if (d.follows !== 0) value.follows = d.follows;
  if (hasKeys(d.posts)) value.posts = d.posts;
  if (hasKeys(d.postTopics)) value.postTopics = d.postTopics;
  if (hasKeys(d.authored)) value.authored = d.authored;
  if (d.outcomes !== 0) value.outcomes = d.outcomes;
  if (d.endorsements.length > 0) value.endorsements = d.endorsements;
  if (d.received !== 0) value.received = d.received;
  if (d.engagers.length > 0) value.engagers = d.engagers;
  if (hasKeys(d.engagerWeights)) value.engagerWeights = byHandle(d.id, d.engagerWeights);
  return value;
}

/**
 * Engagers by handle: an engager acts on the account's network (an event has
 * one), so its id is `<network>:<handle>` with the account's network, and the
 * top-engager set keeps the handle alone (`Keys.topEngagers`).
 */
function byHandle(id: string, weights: Record<string, number>): Record<string, number> {
  const cut = id.indexOf(':') + 1;
  // No prototype: a handle such as '__proto__' is a key like any other.
  const out = Object.create(null) as Record<string, number>;
  for (const k in weights) out[k.slice(cut)] = weights[k]!;
  return out;
}

/**
 * JSON.stringify with a replacer leaves V8's fast path, so the replacer only
 * runs when the JSON shows a null, which non-finite numbers become (or a
 * name that contains the word).
 */
function deltaJson(value: Partial<AccountDelta>): string {
  const json = JSON.stringify(value);
  return json.includes('null') ? JSON.stringify(value, finiteOnly) : json;
}

/**
 * The APPLY arguments of a batch's deltas: JSON for those that change state,
 * `T|<id>|<first>` for a first sight that may be earlier than the stored one,
 * nothing for a sight the ingest stamp shows is not (see `knownFirst`).
 */
export function deltaArgs(deltas: Iterable<AccountDelta>): string[] {
  const out: string[] = [];
  for (const d of deltas) {
    const value = changes(d);
    // A sight alone goes without JSON, which APPLY then need not decode.
    if (Object.keys(value).length > 2) out.push(deltaJson(value));
    else if (!(d.knownFirst !== undefined && d.knownFirst <= d.first)) out.push(`T|${d.id}|${d.first}`);
  }
  return out;
}
