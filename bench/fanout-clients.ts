/**
 * The fan-out benchmark's clients, in a process of their own so that the
 * server's CPU and memory are its own: `n` socket.io clients on `/live`, each
 * subscribed to one entity channel, every `boardEvery`-th also to
 * a leaderboard channel (`leaderboard:global`, or the one given). Prints one JSON line when all are subscribed
 * (`{"ready":n}`), counts updates for `seconds` after the parent writes a line
 * on stdin, then prints the result and exits.
 *
 * Latency of an update is its arrival time minus the event time it carries
 * (`updatedAt`): the feeder stamps events with the wall clock as it sends
 * them, so this is event accepted → update received, coalescing included.
 */
import { createInterface } from 'node:readline';
import { io as connect, type Socket } from 'socket.io-client';
import type { SubscribeAck, UpdateMessage } from '../shared/live.js';

const [url = '', nRaw = '0', secondsRaw = '10', entitiesRaw = '50', boardEveryRaw = '10', board = 'leaderboard:global', firstRaw = '0', waveRaw = '250'] = process.argv.slice(2);
const n = Number(nRaw);
/** The index of this process's first client: with several client processes, each opens its own slice of the clients. */
const first = Number(firstRaw);
/** Clients connecting at once. */
const wave = Number(waveRaw);
const seconds = Number(secondsRaw);
const entities = Number(entitiesRaw);
const boardEvery = Number(boardEveryRaw);

const sockets: Socket[] = [];
let failed = 0;
let counting = false;
let delivered = 0;
const latencies: number[] = [];

function onUpdate(m: UpdateMessage<{ updatedAt?: string }>): void {
  if (!counting) return;
  delivered++;
  const at = Date.parse(m.data?.updatedAt ?? '');
  // Every 4th sample is enough for the percentiles and keeps this process light.
  if (Number.isFinite(at) && delivered % 4 === 0) latencies.push(Date.now() - at);
}

async function open(i: number): Promise<void> {
  const socket = connect(`${url}/live`, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000 });
  sockets.push(socket);
  const subscribe = (channel: string) =>
    new Promise<boolean>((ok) => socket.timeout(20_000).emit('subscribe', channel, (err: Error | null, res?: SubscribeAck) => ok(!err && !!res?.ok)));
  const connected = await new Promise<boolean>((ok) => {
    socket.once('connect', () => ok(true));
    socket.once('connect_error', () => ok(false));
  });
  if (!connected) {
    failed++;
    return;
  }
  socket.on('update', onUpdate);
  const channels = [`entity:x:hot${i % entities}`, ...(i % boardEvery === 0 ? [board] : [])];
  const oks = await Promise.all(channels.map(subscribe));
  if (oks.includes(false)) failed++;
}

// Connect in waves so the server is not handed thousands of handshakes at once.
for (let i = 0; i < n; i += wave) await Promise.all(Array.from({ length: Math.min(wave, n - i) }, (_, k) => open(first + i + k)));
process.stdout.write(`${JSON.stringify({ ready: n - failed, failed })}\n`);

const lines = createInterface({ input: process.stdin });
await new Promise<void>((ok) => lines.once('line', () => ok()));
counting = true;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
/** Share of one core this process used over the window: at ~1 it is the clients, not the server, that cannot keep up. */
const clientCores = (cpu.user + cpu.system) / 1e6 / elapsed;
const connectedAtEnd = sockets.filter((s) => s.connected).length;
for (const s of sockets) s.disconnect();
lines.close();
// The samples themselves, so that the parent takes percentiles over every client process. A pipe is written
// asynchronously: exit once the (long) line is out, or the parent reads half of it.
process.stdout.write(`${JSON.stringify({ delivered, elapsed, clientCores, latencies, connectedAtEnd, failed })}\n`, () => process.exit(0));
