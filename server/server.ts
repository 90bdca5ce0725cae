/**
 * Process entry: configuration, the private redis-server when REDIS_URL is
 * unset, the app, the demo source, listen, and a graceful close on signals.
 */
import Fastify from 'fastify';
import { resolve } from 'node:path';
import app, { SERVER_OPTIONS } from './app.js';
import { ConfigError, HELP, isLoopback, loadConfig } from './config.js';
import { isOpen } from './infra/auth.js';
import { DataDirBusyError, RedisServerMissingError, startRedisServer, type RedisServerHandle } from './infra/redis-server.js';
import { startDemo } from './ingest/demo.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`resonance: ${err.message}\n\n${HELP}`);
      process.exit(2);
    }
    throw err;
  }
  if (config.help) {
    process.stdout.write(HELP);
    return;
  }
  if (isOpen(config) && !isLoopback(config.host)) {
    process.stderr.write(
      `resonance: refusing to listen on ${config.host} with no INGEST_KEYS or ADMIN_KEY: anyone could write. ` +
        'Set keys, or bind to a loopback address (HOST=127.0.0.1).\n',
    );
    process.exit(2);
  }

  const fastify = Fastify({ ...SERVER_OPTIONS, logger: { level: config.logLevel } });

  let privateRedis: RedisServerHandle | null = null;
  let redisUrl = config.redisUrl;
  if (!redisUrl) {
    const dir = resolve(config.dataDir, 'redis');
    try {
      privateRedis = await startRedisServer({ dir, persistence: 'aof', ownProcessGroup: true });
    } catch (err) {
      if (err instanceof RedisServerMissingError || err instanceof DataDirBusyError) {
        process.stderr.write(`resonance: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    redisUrl = privateRedis.url;
    fastify.log.info({ dir, url: redisUrl }, 'started a private redis-server (REDIS_URL unset)');
  }

  const { logLevel: _level, help: _help, ...appConfig } = config;
  await fastify.register(app, { ...appConfig, redisUrl });

  let stopDemo: (() => Promise<void>) | null = null;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    fastify.log.info({ signal }, 'closing');
    const force = setTimeout(() => {
      // Redis runs in its own process group: ask it to stop (it writes what it holds first) before leaving.
      try {
        if (privateRedis?.pid) process.kill(privateRedis.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      process.exit(1);
    }, 15_000);
    force.unref();
    await stopDemo?.();
    await fastify.close().catch((err: unknown) => fastify.log.error({ err }, 'close failed'));
    await privateRedis?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await fastify.listen({ port: config.port, host: config.host });
  } catch (err) {
    fastify.log.error({ err }, 'could not listen');
    await fastify.close().catch(() => {});
    await privateRedis?.stop();
    process.exit(1);
  }

  if (config.source === 'demo') {
    if (!fastify.ingest) throw new Error('--source demo needs the ingest role in this process');
    const { entities } = fastify;
    stopDemo = startDemo(fastify.ingest, { rate: config.demoRate, seed: config.demoSeed, log: fastify.log, register: (e) => entities.put(e.id, e) });
  }
  const addr = fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  process.stdout.write(`\nResonance is running: http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/\n\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`resonance: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
