/**
 * A Lua script run by EVALSHA, loaded again on NOSCRIPT (after a Redis
 * restart or failover the script cache is empty).
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';

export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Loads the script into Redis's cache, so that its next run needs no NOSCRIPT round (which sends it a reply later). */
  async load(client: RedisClient): Promise<void> {
    await client.scriptLoad(this.source);
  }

  async run(client: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(this.source, { keys, arguments: args });
    }
  }
}
