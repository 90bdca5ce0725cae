/**
 * Every Redis key the server uses, in one place. All share the configured
 * prefix, whose `{...}` hash tag keeps them in one Cluster slot: the scripts
 * build per-account keys from `base` with the same names as here.
 */
export interface Keys {
  /** `<prefix>:`, the start of every key. */
  base: string;
  /**
   * The durable event log (a stream); fields `e` (event JSON), `q` (actor's
   * score at ingest) and `f` (actor's first sight). With an archive, its
   * scored part moves to disk and is trimmed from here.
   */
  stream: string;
  /** Consumer group of the scorers. */
  group: string;
  /** Hash: `wm` = last stream id applied (the redelivery guard), `clock` = latest event time applied. */
  meta: string;
  /** Set of entity ids whose inputs changed and whose score is not written yet. */
  dirty: string;
  /** Dirty entities taken by a score write in progress (what a crash mid-write leaves). */
  dirtyTaken: string;
  /**
   * Sorted set of entity id → the event time its score was computed at, as
   * versions before 0.11 kept it (now the record's field `at`); moved into
   * the records at a scorer's start.
   */
  legacyScoredAt: string;
  /** Sorted set of account scores written by versions before 0.6 (each account's own score is now field `s` of its hash); deleted at start. */
  legacyAccountScores: string;
  /** Hash: account id → the entity that claims it. */
  owner: string;
  /** Set of registered entity ids. */
  entities: string;
  /**
   * Hash: the archive of the stream on disk (`score/archive.ts`): `id` = last
   * stream id archived (the stream holds nothing older), `n` = entries
   * archived, `file` and `size` = the current segment and its committed length.
   */
  archive: string;
  /** The archiving process's lease (one archives at a time). */
  archiveLease: string;
  dedupe(bucket: number): string;
  /** Account state hash (see the APPLY script). */
  account(id: string): string;
  /** Per-post sums and topics of an account as versions before 0.8 kept them (now fields of its evidence hash); moved at a scorer's start. */
  posts(id: string): string;
  /**
   * An account's evidence hash: per post `p|<post>` = `<e>|<a>|<topics>`,
   * per topic the days of its tagged posts, and its endorsements (see the
   * APPLY script).
   */
  evidence(id: string): string;
  /**
   * Top engagers of an account by weight, in thousandths, whole (see
   * ENGAGER_SCALE in the APPLY script), each by its handle: an engager is on
   * the account's network, so its id is `<network>:<member>`. Since 0.12.6
   * only where they are too many bytes for the evidence hash's field `g|`
   * (TOP_FIELD_MAX), or an earlier version kept them here.
   */
  topEngagers(id: string): string;
  /**
   * Top engagers as earlier versions kept them, members by full id: before
   * 0.10 with weights as computed (`en:`), in 0.10 in thousandths (`eg:`).
   * Moved into `topEngagers` when a scorer starts.
   */
  legacyTopEngagers(id: string): { computed: string; thousandths: string };
  /**
   * Entity score record: score, components, topics, scopes. An account's is
   * fields of its account hash (since 0.8); a registered entity's, a hash of
   * its own.
   */
  score(id: string): string;
  /** An account's score record as versions before 0.8 kept it apart; moved into its account hash at a scorer's start. */
  legacyScore(id: string): string;
  /** Registered entity: name, kind. */
  entity(id: string): string;
  /** Accounts of a registered entity. */
  entityAccounts(id: string): string;
  /**
   * Score history, one sorted set: minute buckets for a day (score = the
   * minute's start, member `<ms>:<score>`) and hour buckets for 30 days
   * (score = minus the hour's start, member `-<ms>:<score>`).
   */
  history(id: string): string;
  /** The two sets the history was kept in before 0.6 (minutes, hours): moved into `history` on the entity's next write. */
  legacyHistory(id: string): [string, string];
  leaderboard(scope: string): string;
  /** Every leaderboard scope ever written (so listing topics never scans the keyspace). */
  scopes: string;
  /** Prefixes of derived keys (a rebuild deletes them). */
  derived: string[];
}

export function makeKeys(prefix: string): Keys {
  const b = `${prefix}:`;
  return {
    base: b,
    stream: `${b}events`,
    group: 'scorers',
    meta: `${b}meta`,
    dirty: `${b}dirty`,
    dirtyTaken: `${b}dirty:w`,
    legacyScoredAt: `${b}sc`,
    legacyAccountScores: `${b}as`,
    owner: `${b}owner`,
    entities: `${b}entities`,
    archive: `${b}archive`,
    archiveLease: `${b}archive:lease`,
    dedupe: (bucket) => `${b}dd:${bucket}`,
    account: (id) => `${b}a:${id}`,
    posts: (id) => `${b}p:${id}`,
    evidence: (id) => `${b}dy:${id}`,
    topEngagers: (id) => `${b}g:${id}`,
    legacyTopEngagers: (id) => ({ computed: `${b}en:${id}`, thousandths: `${b}eg:${id}` }),
    // Account ids hold the network's ':' (see isAccountId); entity ids never do.
    score: (id) => (id.includes(':') ? `${b}a:${id}` : `${b}es:${id}`),
    legacyScore: (id) => `${b}es:${id}`,
    entity: (id) => `${b}ent:${id}`,
    entityAccounts: (id) => `${b}ent:${id}:accts`,
    history: (id) => `${b}h:${id}`,
    legacyHistory: (id) => [`${b}h1:${id}`, `${b}h2:${id}`],
    leaderboard: (scope) => `${b}lb:${scope}`,
    scopes: `${b}scopes`,
    derived: ['a:', 'p:', 'po:', 'en:', 'eg:', 'g:', 'es:', 'h:', 'h1:', 'h2:', 'lb:', 'hll:', 'dy:', 'td:', 'te:', 'tk:', 'k:', 'meta', 'dirty', 'dirty:w', 'sc', 'as', 'scopes'].map((s) => b + s),
  };
}
