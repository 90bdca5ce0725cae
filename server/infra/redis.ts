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
