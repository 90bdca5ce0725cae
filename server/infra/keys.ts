/**
 * Every Redis key the server uses, in one place. All share the configured
 * prefix, whose `{...}` hash tag keeps a script's keys in one Cluster slot.
 */
export interface Keys {
  /** The durable event log (a stream); one JSON field `e` per entry. */
  stream: string;
  /** Consumer group of the scorers. */
  group: string;
  /** Hash: `wm` = the last stream id applied (the redelivery guard). */
  meta: string;
  /** Set of account keys whose state changed but whose score is not written yet. */
  dirty: string;
  /** Dedupe bucket `n`: the producer ids seen in that window. */
  dedupe(bucket: number): string;
  /** Account state hash. */
  account(id: string): string;
  /** Leaderboard sorted set of a scope. */
  leaderboard(scope: string): string;
}

export function makeKeys(prefix: string): Keys {
  return {
    stream: `${prefix}:events`,
    group: 'scorers',
    meta: `${prefix}:meta`,
    dirty: `${prefix}:dirty`,
    dedupe: (bucket) => `${prefix}:dd:${bucket}`,
    account: (id) => `${prefix}:a:${id}`,
    leaderboard: (scope) => `${prefix}:lb:${scope}`,
  };
}

/** The account id inside an account key. */
export function accountIdOfKey(keys: Keys, key: string): string {
  return key.slice(keys.account('').length);
}
