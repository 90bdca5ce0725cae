import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, isWellFormed, REJECT_CODES, topicSlug, wellFormed, type ActivityEvent } from '../../shared/event.js';
import { validateEvent } from '../../shared/validate.js';
import { parseJsonBody, parseNdjson } from '../../server/ingest/ingest.js';
import { UnparsableItem } from '../../server/ingest/ingest.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const base = { id: 'e1', network: 'x', actor: 'alice', ts: '2026-11-25T11:00:00Z' };

function code(input: unknown): string | null {
  const r = validateEvent(input, NOW);
  return r.ok ? null : r.code;
}

describe('event schema v1', () => {
  it('accepts one valid event of every type and normalises ts to epoch ms', () => {
    const samples: ActivityEvent[] = [
      { ...base, type: 'profile', followers: 120, name: 'Alice' },
      { ...base, type: 'post', post: 'p1', topics: ['ai', 'music'] },
      { ...base, type: 'reply', target: 'bob', post: 'p1', topics: ['ai'] },
      { ...base, type: 'share', target: 'bob', post: 'p1' },
      { ...base, type: 'like', target: 'bob', post: 'p1' },
      { ...base, type: 'mention', target: 'bob' },
      { ...base, type: 'follow', target: 'bob' },
      { ...base, type: 'unfollow', target: 'bob' },
      { ...base, type: 'click', target: 'bob', post: 'p1' },
      { ...base, type: 'conversion', target: 'bob', post: 'p1', value: 49.5 },
      { ...base, type: 'endorse', target: 'bob', topics: ['ai'] },
    ];
    expect(samples.map((s) => s.type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const s of samples) {
      const r = validateEvent(s, NOW);
      expect(r, JSON.stringify(s)).toMatchObject({ ok: true, event: { ts: Date.UTC(2026, 10, 25, 11) } });
    }
    expect(validateEvent({ ...base, type: 'post', ts: 1764000000000 }, NOW)).toMatchObject({ ok: true, event: { ts: 1764000000000 } });
    expect(validateEvent({ ...base, type: 'post', ts: '2026-11-25T12:30:00+01:00' }, NOW)).toMatchObject({ ok: true, event: { ts: Date.UTC(2026, 10, 25, 11, 30) } });
  });

  it('rejects text that is not well-formed Unicode (half a surrogate pair) in any free-text field, and accepts pairs', () => {
    const halves = ['\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83d', '\ude00b', '\ude00\ud83d'];
    for (const h of halves) {
      expect(isWellFormed(h)).toBe(false);
      expect(isWellFormed(wellFormed(h))).toBe(true);
      expect(code({ ...base, type: 'like', actor: h, target: 'bob', post: 'p1' })).toBe(REJECT_CODES.invalidField);
      expect(code({ ...base, type: 'like', target: h, post: 'p1' })).toBe(REJECT_CODES.invalidField);
      expect(code({ ...base, type: 'like', target: 'bob', post: h })).toBe(REJECT_CODES.invalidField);
      expect(code({ ...base, id: h, type: 'like', target: 'bob', post: 'p1' })).toBe(REJECT_CODES.invalidField);
      expect(code({ ...base, type: 'profile', name: h })).toBe(REJECT_CODES.invalidField);
      expect(code({ ...base, type: 'post', post: 'p1', topics: ['ai', `x${h}`] })).toBe(REJECT_CODES.invalidField);
    }
    const r = validateEvent({ ...base, type: 'like', target: 'b\ud800ob', post: 'p1' }, NOW);
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/^"target" is not well-formed Unicode/) });
    expect(wellFormed('a\ud800b\udc00')).toBe('a\ufffdb\ufffd');
    // Pairs (emoji and other characters beyond the BMP) are text like any other.
    for (const ok of ['\ud83d\ude00', 'zoë', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '']) {
      expect(isWellFormed(ok)).toBe(true);
      expect(wellFormed(ok)).toBe(ok);
    }
    expect(code({ ...base, type: 'like', actor: 'al\ud83d\ude00ce', target: 'b😀b', post: 'p😀' })).toBeNull();
  });

  it('rejects each kind of bad input with a stable code', () => {
    expect(code(null)).toBe(REJECT_CODES.notAnObject);
    expect(code([base])).toBe(REJECT_CODES.notAnObject);
    expect(code('event')).toBe(REJECT_CODES.notAnObject);
    expect(code({ network: 'x', type: 'post', actor: 'a', ts: 1 })).toBe(REJECT_CODES.missingField);
    expect(code({ ...base, type: 'post', colour: 'red' })).toBe(REJECT_CODES.unknownField);
    expect(code({ ...base, type: 'post', network: 'X' })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', network: 'a'.repeat(33) })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'retweet' })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', id: '' })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', id: 'x'.repeat(201) })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', actor: 'a'.repeat(101) })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', topics: ['#!!'] })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', topics: ['x'.repeat(101)] })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', topics: Array.from({ length: 11 }, (_, i) => `t${i}`) })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'like' })).toBe(REJECT_CODES.targetRequired);
    expect(code({ ...base, type: 'like', target: 'bob', followers: 3 })).toBe(REJECT_CODES.fieldNotAllowed);
    expect(code({ ...base, type: 'post', value: 3 })).toBe(REJECT_CODES.fieldNotAllowed);
    expect(code({ ...base, type: 'like', target: 'bob', topics: ['ai'] })).toBe(REJECT_CODES.fieldNotAllowed);
    expect(code({ ...base, type: 'profile', target: 'bob' })).toBe(REJECT_CODES.fieldNotAllowed);
    expect(code({ ...base, type: 'endorse', target: 'bob' })).toBe(REJECT_CODES.endorseNeedsOneTopic);
    expect(code({ ...base, type: 'endorse', target: 'bob', topics: ['ai', 'music'] })).toBe(REJECT_CODES.endorseNeedsOneTopic);
    expect(code({ ...base, type: 'post', ts: '2026-11-25T11:00:00' })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', ts: '2026-13-45T11:00:00Z' })).toBe(REJECT_CODES.invalidTs);
    expect(code({ ...base, type: 'post', ts: NOW + 5 * 60_000 + 1 })).toBe(REJECT_CODES.tsInFuture);
    expect(code({ ...base, type: 'post', ts: NOW + 5 * 60_000 })).toBeNull();
  });

  it('never coerces: a number sent as a string, or null, is rejected rather than repaired', () => {
    expect(code({ ...base, type: 'profile', followers: '1000' })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'profile', followers: null })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'profile', followers: 1.5 })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'profile', followers: -1 })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'conversion', target: 'b', value: '10' })).toBe(REJECT_CODES.invalidField);
    expect(code({ ...base, type: 'post', ts: '1764000000000' })).toBe(REJECT_CODES.invalidField);
  });

  it('any JSON value whatsoever gets a verdict, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = validateEvent(v, NOW);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(Object.values(REJECT_CODES)).toContain(r.code);
      }),
      { numRuns: 500 },
    );
  });

  it('any well-formed event passes and keeps its fields', () => {
    const slug = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/);
    const ev = fc.record({
      id: fc.string({ minLength: 1, maxLength: 200 }),
      network: slug,
      type: fc.constantFrom('reply', 'share', 'like', 'mention', 'follow', 'click'),
      actor: fc.string({ minLength: 1, maxLength: 100 }),
      target: fc.string({ minLength: 1, maxLength: 100 }),
      ts: fc.integer({ min: 0, max: NOW }),
    });
    fc.assert(
      fc.property(ev, (e) => {
        const r = validateEvent(e, NOW);
        expect(r).toEqual({ ok: true, event: e });
      }),
      { numRuns: 300 },
    );
  });
});

describe('topics', () => {
  it('hashtags and names are normalised to slugs, once each', () => {
    const r = validateEvent({ ...base, type: 'post', topics: ['#MachineLearning', 'Machine Learning', 'machine-learning', '#Café', '  Rock & Roll!! '] }, NOW);
    expect(r).toMatchObject({ ok: true, event: { topics: ['machinelearning', 'machine-learning', 'cafe', 'rock-roll'] } });
    expect(topicSlug('#'.repeat(3))).toBeNull();
    expect(topicSlug('a'.repeat(60))).toBe('a'.repeat(48));
    expect(topicSlug(`${'a'.repeat(47)} b`)).toBe('a'.repeat(47));
  });
});

describe('ingest body parsing', () => {
  it('NDJSON: blank lines are skipped and a bad line becomes an item of its own', () => {
    const items = parseNdjson('{"a":1}\n\n  \nnot json\n{"b":2}\r\n');
    expect(items).toHaveLength(3);
    expect(items[0]).toEqual({ a: 1 });
    expect(items[1]).toBeInstanceOf(UnparsableItem);
    expect(items[2]).toEqual({ b: 2 });
  });

  it('JSON: one object or an array; malformed JSON is a 400 invalid_json', () => {
    expect(parseJsonBody('{"a":1}')).toEqual([{ a: 1 }]);
    expect(parseJsonBody('[{"a":1},2]')).toEqual([{ a: 1 }, 2]);
    expect(() => parseJsonBody('{"a":')).toThrow(expect.objectContaining({ code: 'invalid_json', statusCode: 400 }));
    expect(() => parseJsonBody('  ')).toThrow(expect.objectContaining({ code: 'empty_body', statusCode: 400 }));
  });
});
