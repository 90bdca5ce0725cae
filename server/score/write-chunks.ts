/**
 * How a score write cuts its dirty entities into chunks: each chunk is one
 * read of their state and one WRITE (`store.ts`).
 */

/** Dirty entities scored in one WRITE, in a pass of up to WRITE_PASS_CHUNKS × this many (see chunkSize). */
export const WRITE_CHUNK = 250;
/** Most entities in one WRITE (a pass of many: see chunkSize). */
export const WRITE_CHUNK_MAX = 1000;
/** Chunks a pass of many entities is cut into (more once each would pass WRITE_CHUNK_MAX). */
export const WRITE_PASS_CHUNKS = 4;

/**
 * The chunk size of a pass over `n` entities. Each chunk's read and WRITE
 * queue in Redis behind the APPLY scripts (tens of ms each under load), so a
 * pass of many entities, as while the scorer is saturated (~5,000 after a
 * second of batches), goes in WRITE_PASS_CHUNKS chunks, or in chunks of
 * WRITE_CHUNK_MAX once those would be larger, and scores reach readers
 * sooner (0.12.4: such a pass ~1.05 s rather than ~1.3). Smaller passes keep
 * chunks of WRITE_CHUNK, so that one WRITE does not hold Redis long while
 * traffic is light (chunks of 1,000 in every pass raised p99 at 10,000
 * events/s).
 */
export function chunkSize(n: number): number {
  return Math.min(WRITE_CHUNK_MAX, Math.max(WRITE_CHUNK, Math.ceil(n / WRITE_PASS_CHUNKS)));
}

/** `ids` in chunks of `size`. */
export function inChunks(ids: string[], size: number): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size));
  return chunks;
}
