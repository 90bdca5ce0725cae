/**
 * The event log beyond Redis. The stream is the durable log a rebuild
 * replays; kept whole in Redis it would grow without bound (~200 bytes an
 * event: a day at 1,000 events/s is ~17 GB of memory). The archiver appends
 * the part of the stream that is already scored to gzip segment files on
 * disk and then trims it from the stream; a rebuild replays the segments,
 * then what the stream still holds.
 *
 * The order of a round, so that nothing is lost wherever a process stops:
 *  1. read the entries after the last archived id, up to the watermark (the
 *     last id scored: entries past it may still be pending for a scorer);
 *  2. append them to the current segment as one gzip member and fdatasync;
 *  3. record the last id, the count and the segment's committed length in
 *     the archive hash, in one script that checks the lease and the previous
 *     id (the commit);
 *  4. trim the stream up to that id.
 * A stop between 2 and 3 leaves bytes past the committed length: they are
 * cut off before the next append (their entries are still in the stream).
 * A stop between 3 and 4 leaves entries both archived and in the stream: the
 * next round trims them, and a rebuild skips what it has applied.
 *
 * One process archives at a time (a lease in Redis). The segments are on
 * the archiving process's disk: a process that holds the lease but finds the
 * recorded segment missing or shorter than committed archives nothing and
 * trims nothing, and says why, so a misplaced or damaged archive never costs
 * an event.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import type { FastifyBaseLogger } from 'fastify';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { Script } from '../infra/script.js';
import { compareStreamIds, type RawEntry } from '../pipeline/operators.js';

const gzipAsync = promisify(gzip);

/** What the archive hash records: the last archived id, the number of entries archived, the current segment and its committed length. */
export interface ArchiveState {
  id: string;
  n: number;
  file: string;
  size: number;
}

export interface ArchiverOptions {
  redis: RedisClient;
  keys: Keys;
  dir: string;
  log: FastifyBaseLogger;
  /** Who holds the lease (unique per process). */
  instance: string;
  /** Pause between rounds when the archive has caught up (ms). */
  everyMs?: number;
  /** Most entries read and appended in one round. */
  chunk?: number;
  /** Most entries one XRANGE of a round reads (a round reads in slices), unless the round before read a whole chunk. */
  slice?: number;
  /** A segment past this many bytes is closed and the next round starts another. */
  segmentBytes?: number;
  leaseMs?: number;
  /** Run rounds only when `runOnce` is called (tests). */
  manual?: boolean;
}

export interface ArchiverStats {
  /** Entries this process appended to the archive. */
  archived: number;
  /** Why the archiver holds back (segment missing or damaged), or null. */
  blocked: string | null;
  /** Rounds that failed (Redis away, disk full ...): each is tried again. */
  failures: number;
  lastError: string | null;
}

export interface Archiver {
  stats: ArchiverStats;
  /** One round (the loop runs them by itself): the number of entries archived. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** KEYS = [lease]; ARGV = [instance, ttl ms]. Renews the lease (1) or takes it (2: it had lapsed or was another's); 0 if another holds it. */
const LEASE = new Script(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if cur then return 1 end
return 2
`);

/** KEYS = [lease]; ARGV = [instance]. Gives the lease up if held. */
const RELEASE = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/**
 * KEYS = [lease, archive]; ARGV = [instance, previous id, id, added, file, size].
 * The commit: refused unless this process holds the lease and the archive
 * still ends where it read from.
 */
const COMMIT = new Script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE lost') end
local prev = redis.call('HGET', KEYS[2], 'id') or ''
if prev ~= ARGV[2] then return redis.error_reply('MOVED ' .. prev) end
redis.call('HSET', KEYS[2], 'id', ARGV[3], 'file', ARGV[5], 'size', ARGV[6])
redis.call('HINCRBY', KEYS[2], 'n', ARGV[4])
return 1
`);

export async function archiveState(redis: RedisClient, keys: Keys): Promise<ArchiveState> {
  const h = await redis.hGetAll(keys.archive);
  return { id: h.id ?? '', n: Number(h.n ?? 0), file: h.file ?? '', size: Number(h.size ?? 0) };
}

/**
 * The archive of one key prefix: a folder of its own under the configured
 * directory, named by the prefix percent-encoded (`{rs}` → `%7Brs%7D`; dots
 * too, so no prefix names `.` or `..`): two prefixes never share a folder.
 */
export function archiveDirFor(root: string, keyPrefix: string): string {
  return join(root, encodeURIComponent(keyPrefix).replace(/[.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
}

/** The id right after `id`: XTRIM MINID keeps ids at or above it. */
function nextId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}

/** Segment names carry their first stream id: `events-<ms>-<seq>.ndjson.gz`. */
export function segmentName(firstId: string): string {
  return `events-${firstId}.ndjson.gz`;
}

/** The segments in `dir`, in stream order (committed or not). */
export function listSegments(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const named = readdirSync(dir)
    .map((f) => ({ f, id: /^events-(\d+-\d+)\.ndjson\.gz$/.exec(f)?.[1] }))
    .filter((x): x is { f: string; id: string } => x.id !== undefined);
  return named.sort((a, b) => compareStreamIds(a.id, b.id)).map((x) => x.f);
}

/**
 * One archived entry per line: `[id, [field, value, ...]]`, the fields as
 * XRANGE returns them (read raw: node-redis's objects for each entry cost
 * more than the rest of archiving together).
 */
type Entry = [id: string, fields: string[]];

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * Reads the committed archive in stream order, in chunks of up to `chunk`
 * entries: the segments up to the current one, and that one only up to its
 * committed length (a stop before a commit may have left more, or begun the
 * next segment). Ids that do not grow are skipped.
 */
export async function* readArchive(dir: string, state: ArchiveState, chunk = 1000): AsyncGenerator<RawEntry[]> {
  let last = '';
  let out: RawEntry[] = [];
  if (state.file === '') return;
  const segments = listSegments(dir);
  const end = segments.indexOf(state.file);
  if (end < 0) throw new Error(`the archive's current segment ${state.file} is not in ${dir}`);
  for (const file of segments.slice(0, end + 1)) {
    const current = file === state.file;
    if (current && state.size === 0) continue;
    const input = createReadStream(join(dir, file), current ? { end: state.size - 1 } : {});
    const lines = createInterface({ input: input.pipe(createGunzip()), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text === '') continue;
      const [id, fields] = JSON.parse(text) as Entry;
      if (compareStreamIds(id, last) <= 0) continue;
      last = id;
      out.push({ id, json: field(fields, 'e') ?? '', q: field(fields, 'q'), f: field(fields, 'f') });
      if (out.length >= chunk) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length > 0) yield out;
}

export function startArchiver(opts: ArchiverOptions): Archiver {
  const { redis, keys, dir, log } = opts;
  const everyMs = opts.everyMs ?? 1000;
  const chunk = opts.chunk ?? 10_000;
  const slice = Math.max(1, opts.slice ?? 1_000);
  const segmentBytes = opts.segmentBytes ?? 128 * 1024 * 1024;
  const leaseMs = opts.leaseMs ?? 10_000;
  const stats: ArchiverStats = { archived: 0, blocked: null, failures: 0, lastError: null };
  let held = false;
  let handle: { file: string; fh: FileHandle; size: number } | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  /** Whether the last round read a whole chunk (the archive is behind). */
  let lastFull = false;

  async function closeHandle(): Promise<void> {
    const h = handle;
    handle = null;
    await h?.fh.close().catch(() => {});
  }

  /**
   * Checks the recorded segment against the disk once the lease is (re)taken:
   * a committed length the file does not reach means the archive is elsewhere
   * or damaged; bytes past it were never committed and are cut off.
   */
  async function recover(state: ArchiveState): Promise<boolean> {
    await closeHandle();
    mkdirSync(dir, { recursive: true });
    if (state.file === '') return true;
    const path = join(dir, state.file);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < state.size) {
      const why =
        size < 0
          ? `the archive's current segment ${state.file} is not in ${dir} (${state.n} entries archived so far): archive and trimming paused; run the archiving process where the archive is, or point ARCHIVE_DIR at it`
          : `the archive's current segment ${path} holds ${size} bytes where ${state.size} were committed: archive and trimming paused`;
      if (stats.blocked !== why) log.error(why);
      stats.blocked = why;
      return false;
    }
    if (size > state.size) {
      await truncate(path, state.size);
      log.warn({ file: path, bytes: size - state.size }, 'archive: cut off bytes written after the last commit (their entries are still in the stream)');
    }
    stats.blocked = null;
    return true;
  }

  /** The file the next append goes to: the current segment, or a new one past `segmentBytes`. */
  async function target(state: ArchiveState, firstId: string): Promise<{ file: string; fh: FileHandle; size: number }> {
    if (state.file !== '' && state.size < segmentBytes) {
      if (handle?.file !== state.file) {
        await closeHandle();
        handle = { file: state.file, fh: await open(join(dir, state.file), 'a'), size: state.size };
      }
      return handle;
    }
    await closeHandle();
    const file = segmentName(firstId);
    const fh = await open(join(dir, file), 'a');
    // The new name must survive a crash too.
    const d = await open(dir, 'r');
    await d.sync().finally(() => d.close());
    handle = { file, fh, size: (await fh.stat()).size };
    if (handle.size > 0) {
      await truncate(join(dir, file), 0);
      handle.size = 0;
    }
    return handle;
  }

  async function runOnce(): Promise<number> {
    const lease = await LEASE.run(redis, [keys.archiveLease], [opts.instance, String(leaseMs)]);
    // Taken anew (it lapsed, so another process may have archived meanwhile): the disk is checked again.
    if (lease !== 1) {
      if (held) await closeHandle();
      held = false;
      if (lease === 0) return 0;
    }
    const state = await archiveState(redis, keys);
    // A commit this process did not make also means the disk must be checked again.
    const foreign = handle !== null && (handle.file !== state.file || handle.size !== state.size);
    if (!held || stats.blocked || foreign) {
      if (!(await recover(state))) return 0;
      held = true;
    }
    const wm = (await redis.hGet(keys.meta, 'wm')) ?? '';
    if (wm === '' || compareStreamIds(state.id, wm) >= 0) {
      if (state.id !== '') await redis.xTrim(keys.stream, 'MINID', nextId(state.id), { strategyModifier: '~' });
      return 0;
    }
    // Read in slices: one XRANGE of a whole round (10,000 entries, ~2.7 MB) holds Redis, and its
    // lines hold the event loop, long enough to show in the live push's tail latency. But each
    // slice's round trip queues behind the scorer's scripts, so a round right after a full one (the
    // archive is behind: the system is saturated, where latency is lost anyway) reads at once, or
    // the archive falls further behind and the stream holds more.
    const step = lastFull ? chunk : slice;
    let text = '';
    let first = '';
    let last = state.id;
    let count = 0;
    while (count < chunk) {
      const want = Math.min(step, chunk - count);
      const entries = (await redis.sendCommand(['XRANGE', keys.stream, last === '' ? '-' : `(${last}`, wm, 'COUNT', String(want)])) as Entry[];
      if (entries.length === 0) break;
      if (first === '') first = entries[0]![0];
      for (const e of entries) text += `${JSON.stringify(e)}\n`;
      count += entries.length;
      last = entries[entries.length - 1]![0];
      if (entries.length < want) break;
    }
    lastFull = count >= chunk;
    if (count === 0) return 0;
    const member = await gzipAsync(text, { level: 1 });
    const t = await target(state, first);
    await t.fh.write(member, 0, member.length, null);
    await t.fh.datasync();
    const size = t.size + member.length;
    try {
      await COMMIT.run(redis, [keys.archiveLease, keys.archive], [opts.instance, state.id, last, String(count), t.file, String(size)]);
    } catch (err) {
      // Another process archived meanwhile: what was appended here is cut off when this one holds the lease again.
      held = false;
      await closeHandle();
      throw err;
    }
    t.size = size;
    stats.archived += count;
    await redis.xTrim(keys.stream, 'MINID', nextId(last), { strategyModifier: '~' });
    return count;
  }

  function loop(): void {
    if (stopped) return;
    running = runOnce();
    running.then(
      (n) => {
        stats.lastError = null;
        if (!stopped) timer = setTimeout(loop, n >= chunk ? 0 : everyMs);
      },
      (err: unknown) => {
        stats.lastError = err instanceof Error ? err.message : String(err);
        stats.failures += 1;
        log.warn({ err }, 'archive round failed; retrying');
        if (!stopped) timer = setTimeout(loop, Math.max(everyMs, 1000));
      },
    );
  }
  if (!opts.manual) timer = setTimeout(loop, 0);

  return {
    stats,
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => 0);
      await closeHandle();
      if (held) await RELEASE.run(redis, [keys.archiveLease], [opts.instance]).catch(() => {});
      held = false;
    },
  };
}
