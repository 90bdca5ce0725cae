/**
 * The batching and brake defaults, where they are read (loadConfig), shown
 * (--help) and documented (the README's configuration table), agree.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP, loadConfig } from '../../server/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The default column of the README's row for an environment variable. */
function readmeDefault(env: string): string | undefined {
  return new RegExp(`^\\| \`${env}\` \\| [^|]+ \\| ([^|]+) \\|`, 'm').exec(readme)?.[1]?.trim();
}

describe('configuration defaults', () => {
  const config = loadConfig([], {});
  const cases = [
    { env: 'BATCH_SIZE', flag: '--batch-size', value: config.batchMaxSize, expected: 2000 },
    { env: 'BATCH_WAIT_MS', flag: '--batch-wait-ms', value: config.batchMaxWaitMs, expected: 10 },
    { env: 'WRITE_EVERY_MS', flag: '--write-every-ms', value: config.writeEveryMs, expected: 100 },
    { env: 'MAX_LAG', flag: '--max-lag', value: config.maxLag, expected: 100_000 },
    { env: 'INGEST_THREADS', flag: '--ingest-threads', value: config.ingestThreads, expected: 1 },
  ];
  it.each(cases)('$env: loadConfig, --help and the README agree', ({ env, flag, value, expected }) => {
    expect(value).toBe(expected);
    expect(readmeDefault(env)).toBe(String(expected));
    // The option's text, which may run over several lines, up to the next option.
    expect(HELP).toMatch(new RegExp(`${flag} N\\s+${env}((?!\\n {2}-)[\\s\\S])*\\(default ${expected}[;)]`));
  });
  it('an environment variable and a flag override the default (the flag wins)', () => {
    expect(loadConfig([], { BATCH_WAIT_MS: '40' }).batchMaxWaitMs).toBe(40);
    expect(loadConfig(['--batch-wait-ms', '3'], { BATCH_WAIT_MS: '40' }).batchMaxWaitMs).toBe(3);
  });
});
