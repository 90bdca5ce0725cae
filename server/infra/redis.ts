/**
 * The Redis connection: one command client for the whole app. Commands that
 * a caller waits on keep a timeout; the score store's write path uses the
 * same connection with `{ timeout: 0 }` (node-redis's per-command
 * AbortSignal costs more than the Redis work under load).
 */
import fp from 'fastify-plugin';
import { createClient } from 'redis';
import { makeKeys, type Keys } from './keys.js';

function makeClient(url: string, name: string) {
  return createClient({ url, name, commandOptions: { timeout: 10_000 } });
}
export type RedisClient = ReturnType<typeof makeClient>;

/** A connected client; `name` shows in CLIENT LIST. */
export async function connectRedis(url: string, name: string): Promise<RedisClient> {
  const client = makeClient(url, name);
  // Errors surface on the commands that hit them and in /readyz; the client reconnects by itself.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** The `hash-max-listpack-value` the hashes are laid out for (the private Redis sets it). */
export const LISTPACK_VALUE_WANTED = 512;

/**
 * A warning when the Redis's `hash-max-listpack-value` (`hash-max-ziplist-value`
 * before Redis 7) is below LISTPACK_VALUE_WANTED: account and evidence hashes
 * hold values of up to ~300 bytes (score records' topics, HyperLogLogs), and
 * past the limit a hash takes several times the memory. Null when it is
 * enough, or when the Redis refuses CONFIG (managed services may).
 */
export async function listpackWarning(redis: RedisClient): Promise<string | null> {
  let value: number;
  try {
    const got = await redis.configGet('hash-max-*-value');
    value = Number(got['hash-max-listpack-value'] ?? got['hash-max-ziplist-value']);
  } catch {
    return null;
  }
  if (!Number.isFinite(value) || value >= LISTPACK_VALUE_WANTED) return null;
  return `this Redis has hash-max-listpack-value ${value}: set it to ${LISTPACK_VALUE_WANTED} (CONFIG SET hash-max-listpack-value ${LISTPACK_VALUE_WANTED}, and in its redis.conf), or each account's hashes take several times the memory`;
}

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient;
    keys: Keys;
  }
}

export interface RedisPluginOptions {
  url: string;
  keyPrefix: string;
}

export default fp<RedisPluginOptions>(
  async (app, opts) => {
    const client = await connectRedis(opts.url, 'resonance');
    app.decorate('redis', client);
    app.decorate('keys', makeKeys(opts.keyPrefix));
    app.addHook('onClose', async () => {
      await client.close().catch(() => client.destroy());
    });
  },
  { name: 'redis' },
);
