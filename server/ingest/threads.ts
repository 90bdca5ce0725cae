/**
 * Intake threads (`INGEST_THREADS`): the bodies the ingest endpoints receive
 * are handed, as text, to worker threads that parse, validate and append
 * them (`intake-thread.ts`), in turn. The endpoints answer with what the
 * thread answers, so an event is acknowledged only once it is in the stream,
 * as in the main thread. A thread that dies fails the bodies it held with a
 * 503 (whatever of them was appended is recognised as a duplicate when the
 * producer sends again) and is started again.
 */
import type { FastifyBaseLogger } from 'fastify';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { IngestResult } from '../../shared/api.js';
import { AppError, errors } from '../errors.js';
import { countResult, type BodyFormat, type IngestStats, type Intake } from './ingest.js';

/** What a thread is started with. */
export interface IntakeThreadData {
  redisUrl: string;
  keyPrefix: string;
  windowSec: number;
  maxLag: number;
}

/** A thread's message: ready, or one body's result or error. */
export type IntakeReply =
  | { ready: true }
  | { id: number; result: IngestResult }
  | { id: number; error: { code: string; statusCode: number; message: string; details?: unknown; headers?: Record<string, string> } };

export interface IntakeThreads extends Intake {
  /** Threads running now (a dead one is started again after a second). */
  readonly running: number;
  /** The threads running now, in turn order (for health checks and tests). */
  readonly workers: readonly Worker[];
  /** Waits for the bodies in hand (at most `waitMs`), then stops the threads. */
  close(waitMs?: number): Promise<void>;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: IngestResult) => void; reject: (e: Error) => void }>;
}

function spawn(data: IntakeThreadData): Worker {
  const url = new URL(`./intake-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  if (url.pathname.endsWith('.ts')) {
    // Run from the sources (tests, tsx): the thread loads TypeScript through tsx's loader, as its parent does.
    const load = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
    return new Worker(load, { eval: true, workerData: data });
  }
  return new Worker(url, { workerData: data });
}

/**
 * Starts `n` intake threads and resolves once each has connected to Redis.
 * Each body's counts are added to `stats` (the process's ingest counters).
 */
export async function startIntakeThreads(n: number, data: IntakeThreadData, stats: IngestStats, log: FastifyBaseLogger): Promise<IntakeThreads> {
  const slots: (Slot | null)[] = Array.from({ length: n }, () => null);
  let next = 0;
  let nextId = 0;
  let closing = false;
  const restarts = new Set<NodeJS.Timeout>();

  function start(i: number): Promise<void> {
    const slot: Slot = { worker: spawn(data), pending: new Map() };
    slots[i] = slot;
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const started = new Promise<void>((ok, fail) => ((ready = ok), (failed = fail)));
    slot.worker.on('message', (m: IntakeReply) => {
      if ('ready' in m) return ready();
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if ('result' in m) {
        countResult(stats, m.result);
        p.resolve(m.result);
      } else if (m.error.statusCode >= 500 && m.error.code === 'internal') {
        p.reject(new Error(`intake thread: ${m.error.message}`));
      } else {
        p.reject(new AppError(m.error.code, m.error.statusCode, m.error.message, m.error.details, m.error.headers));
      }
    });
    const gone = (why: unknown) => {
      if (slots[i] !== slot) return;
      slots[i] = null;
      failed(why instanceof Error ? why : new Error(String(why)));
      // Nothing of these was acknowledged: the producer sends them again.
      for (const p of slot.pending.values()) p.reject(errors.unavailable('intake was interrupted; send again shortly', 1));
      slot.pending.clear();
      if (closing) return;
      log.error({ err: why }, 'an intake thread stopped; starting another');
      const timer = setTimeout(() => {
        restarts.delete(timer);
        if (!closing) start(i).catch((err: unknown) => log.error({ err }, 'an intake thread could not start'));
      }, 1000);
      restarts.add(timer);
    };
    slot.worker.on('error', gone);
    slot.worker.on('exit', (code) => gone(new Error(`exited with code ${code}`)));
    return started;
  }

  try {
    await Promise.all(slots.map((_, i) => start(i)));
  } catch (err) {
    closing = true;
    for (const t of restarts) clearTimeout(t);
    await Promise.all(slots.map((s) => s?.worker.terminate()));
    throw err;
  }

  return {
    get running() {
      return slots.filter((s) => s !== null).length;
    },
    get workers() {
      return slots.flatMap((s) => (s ? [s.worker] : []));
    },
    ingestText(format: BodyFormat, text: string): Promise<IngestResult> {
      if (closing) return Promise.reject(errors.unavailable('the server is closing; send again shortly', 1));
      // In turn, skipping a thread that is being started again.
      for (let k = 0; k < n; k++) {
        const slot = slots[(next + k) % n];
        if (!slot) continue;
        next = (next + k + 1) % n;
        const id = nextId++;
        return new Promise<IngestResult>((resolve, reject) => {
          slot.pending.set(id, { resolve, reject });
          slot.worker.postMessage({ id, format, text });
        });
      }
      return Promise.reject(errors.unavailable('intake is restarting; send again shortly', 1));
    },
    async close(waitMs = 10_000) {
      closing = true;
      for (const t of restarts) clearTimeout(t);
      if (slots.some((s) => s && s.pending.size > 0)) {
        const settled = Promise.all(
          slots.map((s) =>
            s && s.pending.size > 0
              ? new Promise<void>((ok) => {
                  s.worker.on('message', () => s.pending.size === 0 && ok());
                  // A thread that dies meanwhile has failed what it held (with a 503).
                  s.worker.once('exit', () => ok());
                })
              : undefined,
          ),
        );
        await Promise.race([settled, new Promise((r) => setTimeout(r, waitMs).unref())]);
      }
      await Promise.all(slots.map((s) => s?.worker.terminate()));
    },
  };
}
