/** --source demo: the simulator goes through the same ingest path as any producer, and the leaderboard fills. */
import { describe, expect, it } from 'vitest';
import { startDemo } from '../../server/ingest/demo.js';
import { startApp, until } from '../helpers/app.js';

describe('demo source', () => {
  it('feeds the simulator through ingest into scores at the configured rate', async () => {
    const t = await startApp();
    const stop = startDemo(t.app.ingest!, { rate: 400, seed: 5, accounts: 150, historyEvents: 0 });
    try {
      const started = Date.now();
      // 150 profiles at once, then ~400 events a second.
      await until(() => (t.app.ingest!.stats.accepted >= 150 + 400 ? true : undefined), 10_000, 'demo events accepted');
      const elapsed = (Date.now() - started) / 1000;
      await until(() => (t.app.pipeline!.stats.eventsScored >= 550 ? true : undefined), 10_000, 'demo events scored');
      const lb = await (await fetch(`${t.url}/api/leaderboard?limit=5`)).json();
      expect(lb.total).toBeGreaterThanOrEqual(150);
      expect(lb.entries[0].score).toBeGreaterThan(lb.entries[4].score);
      expect(lb.entries[0].name).not.toBe(lb.entries[0].id);
      // The rate is honoured: 400 events took about a second, not an instant.
      expect(elapsed).toBeGreaterThan(0.7);
      expect(t.app.ingest!.stats.rejected).toBe(0);
    } finally {
      await stop();
      await t.close();
    }
  });
});
