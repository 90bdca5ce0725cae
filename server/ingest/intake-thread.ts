/**
 * An intake thread (`threads.ts` starts them): bodies of events come in as
 * text, and this thread parses, validates and appends them with an ingest of
 * its own on a Redis connection of its own, then answers with the result or
 * the error as the API answers it. The work per event (JSON parsing,
 * validation, each entry's JSON, the script call's encoding) then runs
 * beside the scorer and the live push, not on their event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, storeError } from '../errors.js';
import { makeKeys } from '../infra/keys.js';
import { connectRedis } from '../infra/redis.js';
import { createIngest, type BodyFormat } from './ingest.js';
import type { IntakeReply, IntakeThreadData } from './threads.js';

const data = workerData as IntakeThreadData;
const port = parentPort!;
const redis = await connectRedis(data.redisUrl, 'resonance-intake-thread');
const ingest = createIngest(redis, makeKeys(data.keyPrefix), { windowSec: data.windowSec, maxLag: data.maxLag });

port.on('message', (msg: { id: number; format: BodyFormat; text: string }) => {
  ingest.ingestText(msg.format, msg.text).then(
    (result) => port.postMessage({ id: msg.id, result } satisfies IntakeReply),
    (err: unknown) => {
      const e = err instanceof AppError ? err : storeError(err);
      const error = e
        ? { code: e.code, statusCode: e.statusCode, message: e.message, details: e.details, headers: e.headers }
        : { code: 'internal', statusCode: 500, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      port.postMessage({ id: msg.id, error } satisfies IntakeReply);
    },
  );
});
port.postMessage({ ready: true } satisfies IntakeReply);
