/**
 * Starts and stops a private `redis-server` child process: the server's own
 * Redis when REDIS_URL is unset, and the test and benchmark Redis.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { LISTPACK_VALUE_WANTED } from './redis.js';

export interface RedisServerHandle {
  url: string;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Folder for data files; made if missing. */
  dir: string;
  /** `aof`: append-only file, fsync every second (the private server's default). `none`: memory only. */
  persistence?: 'aof' | 'none';
  port?: number;
  /** Extra `--name value` pairs. */
  extra?: string[];
  /**
   * Runs redis-server in a process group of its own. Ctrl-C in a terminal
   * sends SIGINT to the whole foreground group: without this Redis would
   * shut down at the same instant as the server, which then could not finish
   * its last batch and score write, and waited for its commands to time out.
   * With it, only the server gets the signal and stops Redis once it is done.
   * (A server killed outright leaves Redis running: the next start on the
   * same folder stops it, by its pidfile.)
   */
  ownProcessGroup?: boolean;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH. Install it: apt-get install redis-server (Debian/Ubuntu), ' +
        'dnf install redis (Fedora), brew install redis (macOS); or set REDIS_URL to a Redis you run.',
    );
  }
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export class DataDirBusyError extends Error {
  constructor(dir: string, pid: number) {
    super(`another Resonance process (pid ${pid}) is using ${dir}; stop it first`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A redis-server left running on this data folder by a process that was
 * killed outright would share its files with the new one: stop it first.
 */
async function stopOrphan(pidfile: string): Promise<void> {
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = `/proc/${pid}/cmdline`;
  const isRedis = () => existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes('redis-server');
  if (!isRedis()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isRedis(); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Starts redis-server on loopback and resolves once it accepts connections. */
export async function startRedisServer(opts: RedisServerOptions): Promise<RedisServerHandle> {
  if (!hasRedisServer()) throw new RedisServerMissingError();
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const pidfile = join(dir, 'redis.pid');
  const ownerfile = join(dir, 'owner.pid');
  const owner = existsSync(ownerfile) ? Number(readFileSync(ownerfile, 'utf8').trim()) : 0;
  if (owner > 0 && owner !== process.pid && alive(owner)) throw new DataDirBusyError(dir, owner);
  await stopOrphan(pidfile);
  writeFileSync(ownerfile, String(process.pid));
  const port = opts.port ?? (await freePort());
  const aof = (opts.persistence ?? 'aof') === 'aof';
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', aof ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--protected-mode', 'yes',
    '--loglevel', 'warning',
    '--pidfile', pidfile,
    // Account hashes hold short JSON values (topics with evidence, ~90 bytes a topic), evidence hashes
    // small HyperLogLogs (up to 300 bytes): past the default 64 bytes a hash leaves the compact
    // listpack encoding and takes several times the memory.
    '--hash-max-listpack-value', String(LISTPACK_VALUE_WANTED),
    ...(opts.extra ?? []),
  ];
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.ownProcessGroup ?? false });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  await new Promise<void>((ok, fail) => {
    const deadline = Date.now() + 15_000;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      if (err) fail(err);
      else ok();
    };
    child.once('exit', (code) => finish(new Error(`redis-server exited with ${code}: ${output.trim()}`)));
    const timer = setInterval(() => {
      const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
      if (r.stdout?.trim() === 'PONG') finish();
      else if (Date.now() > deadline) finish(new Error(`redis-server did not start on port ${port}: ${output.trim()}`));
    }, 50);
  });
  child.removeAllListeners('exit');
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => {
          rmSync(ownerfile, { force: true });
          ok();
        });
        child.kill('SIGTERM');
      }),
  };
}
