/** A score record's components: one packed field since 0.7.2, a field each before. */
import { describe, expect, it } from 'vitest';
import { COMPONENT_NAMES, packComponents, unpackComponents } from '../../server/score/model.js';

describe('packed components', () => {
  const components = { reach: 28.6, engagement: 12, amplification: 0, outcomes: 3.5, endorsements: 0.1 };

  it('packs in the order of COMPONENT_NAMES and reads back the same numbers', () => {
    expect(COMPONENT_NAMES).toEqual(['reach', 'engagement', 'amplification', 'outcomes', 'endorsements']);
    expect(packComponents(components)).toBe('28.6,12,0,3.5,0.1');
    expect(unpackComponents({ s: '40.1', c: packComponents(components) })).toEqual(components);
  });

  it('reads a record of 0.7.1 (a field each), and prefers those fields over a packed one such a version left stale', () => {
    const perField = { 'c:reach': '28.6', 'c:engagement': '12', 'c:amplification': '0', 'c:outcomes': '3.5', 'c:endorsements': '0.1' };
    expect(unpackComponents(perField)).toEqual(components);
    // Packed by 0.7.2, then written by 0.7.1 after going back: its fields are the newer.
    expect(unpackComponents({ ...perField, c: '1,1,1,1,1' })).toEqual(components);
  });

  it('takes a missing component as 0', () => {
    expect(unpackComponents({})).toEqual({ reach: 0, engagement: 0, amplification: 0, outcomes: 0, endorsements: 0 });
    expect(unpackComponents({ 'c:reach': '5' })).toEqual({ reach: 5, engagement: 0, amplification: 0, outcomes: 0, endorsements: 0 });
  });
});
