/**
 * `npm run rebuild` (node dist/server/rebuild.js): replays the durable event
 * stream into an empty score state. Stop the scoring processes first.
 */
import pino from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { makeKeys } from './infra/keys.js';
import { connectRedis } from './infra/redis.js';
import { DataDirBusyError, RedisServerMissingError, startRedisServer } from './infra/redis-server.js';
import { modelParams } from './score/model.js';
import { archiveDirFor } from './score/archive.js';
import { ArchiveMissingError, rebuild, ScorerActiveError } from './score/rebuild.js';
import { resolve } from 'node:path';

const HELP = `resonance rebuild: replay the durable event stream into an empty score state

Usage: npm run rebuild -- [--force] [server options]

Keeps the log (the archive on disk and the stream), the deduplication window
and the entity registry; deletes every derived key (account state, scores,
leaderboards, history), replays every event, archived ones first, and scores
every entity. Reads the same configuration as the server (REDIS_URL,
KEY_PREFIX, HALF_LIFE_DAYS, DATA_DIR, ARCHIVE_DIR, ...). Refuses to run while a
scorer is active unless --force is given, and refuses, changing nothing, when
events are archived and the archive here is missing or incomplete.
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const force = args.includes('--force');
  let config;
  try {
    config = loadConfig(args.filter((a) => a !== '--force'));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rebuild: ${err.message}\n\n${HELP}`);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel });
  let own = null;
  if (!config.redisUrl) {
    try {
      own = await startRedisServer({ dir: resolve(config.dataDir, 'redis'), persistence: 'aof' });
    } catch (err) {
      if (err instanceof DataDirBusyError || err instanceof RedisServerMissingError) {
        process.stderr.write(`rebuild: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
  }
  const url = config.redisUrl ?? own!.url;
  const redis = await connectRedis(url, 'resonance-rebuild');
  try {
    // A private Redis is only ours once the server that owned it has stopped, so no scorer can be running.
    const r = await rebuild({ redis, redisUrl: url, keys: makeKeys(config.keyPrefix), params: modelParams(config.halfLifeDays), log, force: force || own !== null, batchMaxSize: config.batchMaxSize, ...(config.archiveDir ? { archiveDir: archiveDirFor(config.archiveDir, config.keyPrefix) } : {}) });
    process.stdout.write(`rebuilt: ${r.entries} events replayed (${r.archived} from the archive), ${r.entities} entities scored in ${r.seconds.toFixed(1)} s\n`);
  } catch (err) {
    if (err instanceof ScorerActiveError || err instanceof ArchiveMissingError) {
      process.stderr.write(`rebuild: ${err.message}\n`);
      process.exitCode = 1;
    } else throw err;
  } finally {
    await redis.close();
    await own?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`rebuild: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
