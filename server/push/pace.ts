/**
 * How often a live channel may publish. The contract allows 10 updates a
 * second per channel (`MIN_INTERVAL_MS` apart), latest state winning; a
 * process whose event loop is saturated (thousands of live clients, or
 * intake and scoring at full speed beside them) sends each channel's latest
 * state less often instead of queueing frames it cannot write in time. Every
 * PACE_SAMPLE_MS the event loop's utilization over that time moves the
 * interval: up by PACE_UP past PACE_HIGH, down by PACE_DOWN below PACE_LOW,
 * between MIN_INTERVAL_MS and MAX_INTERVAL_MS. A client still gets every
 * channel's latest state; what it sees is as fresh, less often.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { MAX_UPDATES_PER_SECOND } from '../../shared/live.js';

export const MIN_INTERVAL_MS = 1000 / MAX_UPDATES_PER_SECOND;
export const MAX_INTERVAL_MS = 1000;
export const PACE_SAMPLE_MS = 500;
export const PACE_HIGH = 0.9;
export const PACE_LOW = 0.75;
export const PACE_UP = 1.5;
export const PACE_DOWN = 1.25;

export class PublishPace {
  /** The least time between two publishes of one channel, ms. */
  interval = MIN_INTERVAL_MS;

  /** Moves the interval by the event loop's utilization (0 to 1) over the last sample; returns it. */
  adjust(utilization: number): number {
    if (utilization > PACE_HIGH) this.interval = Math.min(MAX_INTERVAL_MS, this.interval * PACE_UP);
    else if (utilization < PACE_LOW) this.interval = Math.max(MIN_INTERVAL_MS, this.interval / PACE_DOWN);
    return this.interval;
  }

  /** Samples this process's event loop every PACE_SAMPLE_MS; returns the stop. */
  start(): () => void {
    let last: EventLoopUtilization = performance.eventLoopUtilization();
    const timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      this.adjust(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    }, PACE_SAMPLE_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}
