/**
 * An entity's score record as the API and the live channels give it. The
 * record is what WRITE stores (`write-scripts.ts`); a score write that has
 * just computed one builds the same `Entity` from its own fields, so a live
 * update need not read back what it wrote.
 */
import type { Entity } from '../../shared/api.js';
import { unpackComponents } from './model.js';
import { unpackTopics } from './score.js';

/** Account ids hold their network's ':' (`x:alice`); registered entity ids never do. */
export function isAccountId(id: string): boolean {
  return id.includes(':');
}

/**
 * Whether `h` is a score record. An account's record is fields of its
 * account hash, whose own score `s` stays while an entity claims the
 * account: the record is there when its scopes are.
 */
export function scored(id: string, h: Record<string, string | undefined>): boolean {
  return h.s !== undefined && (!isAccountId(id) || h.scopes !== undefined);
}

/** The entity of score record `h`; `rank` is its place on the global board from 0, or null. */
export function entityOf(id: string, h: Record<string, string>, rank: number | null): Entity {
  const components = unpackComponents(h);
  return {
    id,
    name: h.name ?? id,
    kind: h.kind === 'brand' ? 'brand' : 'person',
    // An account's own record leaves out its kind and its one account (itself).
    accounts: h.accounts ? (JSON.parse(h.accounts) as string[]) : isAccountId(id) ? [id] : [],
    score: Number(h.s),
    rank: rank === null ? null : rank + 1,
    components,
    topics: unpackTopics(h.topics),
    updatedAt: new Date(Number(h.u ?? 0)).toISOString(),
  };
}
