/** Builds events and runs them through the pure model: aggregate → in-memory fold → score. */
import type { EventType } from '../../shared/event.js';
import { aggregate, type StreamEvent } from '../../server/score/aggregate.js';
import { MemoryState } from '../../server/score/fold.js';
import { DAY_MS, modelParams, type ModelParams } from '../../server/score/model.js';
import { scoreAccounts, type ScoreResult } from '../../server/score/score.js';

export const T0 = Date.UTC(2026, 5, 1, 12);
export const P = modelParams(30);

let seq = 0;
/** One event on network x; `target` omitted for post and profile. */
export function ev(type: EventType, actor: string, target?: string, extra: Partial<StreamEvent> = {}): StreamEvent {
  return { id: `m${seq++}`, network: 'x', type, actor, ...(target !== undefined ? { target } : {}), ts: T0, ...extra } as StreamEvent;
}

/** `n` posts by `author`, with ids `${prefix}0..`, a minute apart. */
export function posts(author: string, n: number, prefix = `${author}-p`, extra: Partial<StreamEvent> = {}): StreamEvent[] {
  return Array.from({ length: n }, (_, i) => ev('post', author, undefined, { post: `${prefix}${i}`, ts: T0 + i * 60_000, ...extra }));
}

export class Model {
  readonly state = new MemoryState();
  constructor(readonly params: ModelParams = P) {}

  add(events: Iterable<StreamEvent>): this {
    this.state.apply(aggregate(events, this.params).values());
    return this;
  }

  /** The score of an entity made of these accounts (default: the one account `x:<handle>`), at `now`. */
  score(ids: string | string[], now = T0 + DAY_MS): ScoreResult {
    const list = Array.isArray(ids) ? ids : [ids];
    return scoreAccounts(
      list.map((id) => this.state.snapshot(id.includes(':') ? id : `x:${id}`)),
      now,
      this.params,
    );
  }
}

export function model(events: Iterable<StreamEvent>, params?: ModelParams): Model {
  return new Model(params).add(events);
}
