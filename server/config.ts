/**
 * Configuration from environment variables and command-line flags (flags win).
 * Every setting is listed in `HELP` and in the README.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export type Role = 'all' | 'ingest' | 'score' | 'push';
export type Source = 'none' | 'demo';

export interface Config {
  port: number;
  host: string;
  /** Unset: the server owns a private redis-server with its data under `dataDir`. */
  redisUrl: string | undefined;
  dataDir: string;
  /**
   * Where the scored part of the stream is archived (gzip segments, one
   * folder per key prefix) before it is trimmed from Redis; unset keeps the
   * whole log in the stream.
   */
  archiveDir?: string;
  /** Prefix of every Redis key; holds a Cluster hash tag so one script's keys share a slot. */
  keyPrefix: string;
  ingestKeys: string[];
  adminKey: string | undefined;
  embedOrigins: string[];
  halfLifeDays: number;
  dedupeWindowSec: number;
  roles: Set<Exclude<Role, 'all'>>;
  source: Source;
  demoRate: number;
  demoSeed: number;
  batchMaxSize: number;
  batchMaxWaitMs: number;
  writeEveryMs: number;
  /** Entries not yet scored beyond which ingest answers 503. */
  maxLag: number;
  /** Threads that parse, validate and append the ingest endpoints' bodies (0: the main thread). */
  ingestThreads: number;
  logLevel: string;
}

/** Most events scored in one batch, by default (0.12.4: 2000, was 1000); `npm run rebuild` reads the log in batches of the same size. */
export const DEFAULT_BATCH_SIZE = 2000;

export const HELP = `resonance: real-time, explainable social influence scores

Usage: node dist/server/server.js [options]      (npm start -- [options])

Options (each also read from the environment variable shown):
  --port N              PORT             HTTP port (default 8080; 0 picks a free one)
  --host ADDR           HOST             bind address (default 127.0.0.1)
  --redis-url URL       REDIS_URL        use this Redis; unset: start a private
                                         redis-server (from PATH) under --data-dir
  --data-dir DIR        DATA_DIR         private Redis data (default ./data)
  --archive-dir DIR     ARCHIVE_DIR      where scored events are archived before they are
                                         trimmed from the Redis stream (default
                                         DATA_DIR/archive; none: keep them all in Redis)
  --key-prefix P        KEY_PREFIX       prefix of every Redis key (default {rs})
  --ingest-keys K1,K2   INGEST_KEYS      bearer keys accepted by the ingest endpoints
  --admin-key K         ADMIN_KEY        bearer key for the admin endpoints
  --embed-origins O1,O2 EMBED_ORIGINS    origins allowed to frame the embeds
  --half-life-days D    HALF_LIFE_DAYS   score half-life in event time (default 30)
  --dedupe-window S     DEDUPE_WINDOW    seconds an event id is remembered (default 600)
  --role R              ROLE             all (default) | ingest | score | push; a comma
                                         list runs several roles in one process
  --source S            SOURCE           none (default) | demo: the built-in simulator
  --demo-rate N         DEMO_RATE        simulated events per second (default 10), after
                                         a week of history (200,000 events) at start
  --demo-seed N         DEMO_SEED        simulator seed (default 42)
  --batch-size N        BATCH_SIZE       most events scored in one batch (default ${DEFAULT_BATCH_SIZE})
  --batch-wait-ms N     BATCH_WAIT_MS    longest wait to fill a batch (default 10)
  --write-every-ms N    WRITE_EVERY_MS   under load, write scores at most this often (default 100; 0: after every batch)
  --max-lag N           MAX_LAG          events not yet scored beyond which ingest answers
                                         503 with Retry-After (default 100000)
  --ingest-threads N    INGEST_THREADS   threads that parse, validate and append the ingest
                                         endpoints' bodies, beside the scorer and the live
                                         push (default 1; 0: in the main thread)
  --log-level L         LOG_LEVEL        fatal|error|warn|info|debug (default info)
  -h, --help                             this text

With no ingest key and no admin key configured, the server accepts writes
without a key only when bound to a loopback address, and says so at start.
`;

export class ConfigError extends Error {}

const FLAGS = {
  port: 'PORT',
  host: 'HOST',
  'redis-url': 'REDIS_URL',
  'data-dir': 'DATA_DIR',
  'archive-dir': 'ARCHIVE_DIR',
  'key-prefix': 'KEY_PREFIX',
  'ingest-keys': 'INGEST_KEYS',
  'admin-key': 'ADMIN_KEY',
  'embed-origins': 'EMBED_ORIGINS',
  'half-life-days': 'HALF_LIFE_DAYS',
  'dedupe-window': 'DEDUPE_WINDOW',
  role: 'ROLE',
  source: 'SOURCE',
  'demo-rate': 'DEMO_RATE',
  'demo-seed': 'DEMO_SEED',
  'batch-size': 'BATCH_SIZE',
  'batch-wait-ms': 'BATCH_WAIT_MS',
  'write-every-ms': 'WRITE_EVERY_MS',
  'max-lag': 'MAX_LAG',
  'ingest-threads': 'INGEST_THREADS',
  'log-level': 'LOG_LEVEL',
} as const;
type Flag = keyof typeof FLAGS;

function list(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function num(name: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${name} must be a number between ${min} and ${max}, got "${v}"`);
  return n;
}

/** Reads the configuration; throws ConfigError with a readable message on a bad value. */
export function loadConfig(argv: string[] = [], env: NodeJS.ProcessEnv = process.env): Config & { help: boolean } {
  const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const get = (flag: Flag): string | undefined => (values[flag] as string | undefined) ?? env[FLAGS[flag]];

  const roleNames = list(get('role') ?? 'all');
  const roles = new Set<Exclude<Role, 'all'>>();
  for (const r of roleNames) {
    if (r === 'all') ['ingest', 'score', 'push'].forEach((x) => roles.add(x as Exclude<Role, 'all'>));
    else if (r === 'ingest' || r === 'score' || r === 'push') roles.add(r);
    else throw new ConfigError(`--role must be all, ingest, score or push, got "${r}"`);
  }
  const source = get('source') ?? 'none';
  if (source !== 'none' && source !== 'demo') throw new ConfigError(`--source must be none or demo, got "${source}"`);
  const logLevel = get('log-level') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`--log-level must be fatal, error, warn, info, debug, trace or silent, got "${logLevel}"`);
  }
  const dataDir = get('data-dir') ?? './data';
  const archive = get('archive-dir') ?? join(dataDir, 'archive');
  return {
    help: values.help === true,
    port: num('PORT', get('port'), 8080, 0, 65535),
    host: get('host') ?? '127.0.0.1',
    redisUrl: get('redis-url') || undefined,
    dataDir,
    ...(archive === 'none' || archive === '' ? {} : { archiveDir: archive }),
    keyPrefix: get('key-prefix') ?? '{rs}',
    ingestKeys: list(get('ingest-keys')),
    adminKey: get('admin-key') || undefined,
    embedOrigins: list(get('embed-origins')),
    halfLifeDays: num('HALF_LIFE_DAYS', get('half-life-days'), 30, 0.001, 36500),
    dedupeWindowSec: num('DEDUPE_WINDOW', get('dedupe-window'), 600, 1, 7 * 86400),
    roles,
    source,
    demoRate: num('DEMO_RATE', get('demo-rate'), 10, 0, 1_000_000),
    demoSeed: num('DEMO_SEED', get('demo-seed'), 42, 0),
    batchMaxSize: num('BATCH_SIZE', get('batch-size'), DEFAULT_BATCH_SIZE, 1, 100_000),
    batchMaxWaitMs: num('BATCH_WAIT_MS', get('batch-wait-ms'), 10, 0, 10_000),
    writeEveryMs: num('WRITE_EVERY_MS', get('write-every-ms'), 100, 0, 10_000),
    maxLag: num('MAX_LAG', get('max-lag'), 100_000, 1),
    ingestThreads: num('INGEST_THREADS', get('ingest-threads'), 1, 0, 16),
    logLevel,
  };
}

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
