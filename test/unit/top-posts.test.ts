import { describe, expect, it } from 'vitest';
import { POST_CONCAVITY } from '../../server/score/model.js';
import { readPostField } from '../../server/score/post-field.js';
import { topPosts } from '../../server/score/reads.js';

/** HGETALL's flat list, as bytes. */
const flat = (hash: Record<string, string | Buffer>): Buffer[] => Object.entries(hash).flatMap(([k, v]) => [Buffer.from(k), Buffer.isBuffer(v) ? v : Buffer.from(v)]);

/** A post's field as APPLY writes it since 0.12.6: flags, the sums present as little-endian doubles, the topics. */
function binary(e: number, a: number, topics: string): Buffer {
  const sums = [e, a].filter((x) => x !== 0).map((x) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    return b;
  });
  return Buffer.concat([Buffer.from([(e !== 0 ? 1 : 0) | (a !== 0 ? 2 : 0)]), ...sums, Buffer.from(topics)]);
}

describe('topPosts', () => {
  it('ranks posts by the β-th powers of their sums, ignores topics, days, endorsements and empty posts, and keeps the top n', () => {
    expect(POST_CONCAVITY).toBe(0.5);
    const hash = {
      'p|p1': binary(16, 9, 'cats,dogs'), // 4 + 3 = 7
      'p|p2': binary(25, 0, ''), // 5
      'p|p3': binary(0, 36, ''), // 6 (amplification only)
      'p|-': binary(4, 0, ''), // 2: engagement without a post id, pooled
      'p|p4': binary(0, 0, 'cats'), // tagged, never engaged: no value
      'p|a|b': binary(1, 0, ''), // a post id may hold '|': 1
      'p|p5': '2.25|0.25|cats', // as written before 0.12.6, text: 1.5 + 0.5 = 2
      'p|p6': '||dogs', // text, never engaged
      cats: '20780,20781', // days of the topic
      'k|20780|cats|x:someone': '1', // an endorsement
      'e|cats|x:someone': '1', // its endorser
      'h|cats': Buffer.from([0x7c, 0x70, 0x00, 0x01]), // a HyperLogLog: bytes, not a post
    };
    expect(topPosts(flat(hash), 10)).toEqual([
      { value: 'p1', score: 7 },
      { value: 'p3', score: 6 },
      { value: 'p2', score: 5 },
      { value: '-', score: 2 },
      { value: 'p5', score: 2 },
      { value: 'a|b', score: 1 },
    ]);
    expect(topPosts(flat(hash), 2).map((p) => p.value)).toEqual(['p1', 'p3']);
    expect(topPosts([], 5)).toEqual([]);
  });

  it('reads a post field in either layout, sums exactly and topics as they are', () => {
    const e = 1401656369713507.25;
    const a = 373774400680008.0625;
    expect(readPostField(binary(e, a, 'ai,startups'))).toEqual({ e, a, topics: 'ai,startups' });
    expect(readPostField(binary(0, a, 'ai'))).toEqual({ e: 0, a, topics: 'ai' });
    expect(readPostField(binary(e, 0, ''))).toEqual({ e, a: 0, topics: '' });
    expect(readPostField(binary(0, 0, 'zoë'))).toEqual({ e: 0, a: 0, topics: 'zoë' });
    expect(readPostField(Buffer.from(`${e.toPrecision(17)}|${a.toPrecision(17)}|ai`))).toEqual({ e, a, topics: 'ai' });
    expect(readPostField(Buffer.from('||ai,startups'))).toEqual({ e: 0, a: 0, topics: 'ai,startups' });
  });
});
