/** The archive's files: folder names, segment order, and what a reader takes as committed. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { archiveDirFor, listSegments, readArchive, segmentName } from '../../server/score/archive.js';

const dir = mkdtempSync(join(tmpdir(), 'resonance-archive-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A gzip member of archive lines for these ids. */
const member = (...ids: string[]) => gzipSync(ids.map((id) => `${JSON.stringify([id, ['e', `{"id":"${id}"}`, 'q', '3']])}\n`).join(''));

async function readAll(d: string, state: { id: string; n: number; file: string; size: number }) {
  const out: string[] = [];
  for await (const chunk of readArchive(d, state, 2)) for (const r of chunk) out.push(`${r.id}/${r.q}`);
  return out;
}

describe('the archive on disk', () => {
  it('gives every key prefix a folder of its own', () => {
    const names = ['{rs}', '_rs_', '%7Brs%7D', 'rs', '.', '..', '{a.b}', '{a_b}'].map((p) => archiveDirFor('/x', p));
    expect(new Set(names).size).toBe(names.length);
    expect(archiveDirFor('/x', '{rs}')).toBe('/x/%7Brs%7D');
    for (const n of names) expect(n.startsWith('/x/') && !n.slice(3).includes('/') && n.slice(3) !== '.' && n.slice(3) !== '..').toBe(true);
  });

  it('orders segments by stream id, not by name', () => {
    const d = mkdtempSync(join(dir, 'order-'));
    for (const id of ['1000-0', '999-5', '999-12', '20-0']) writeFileSync(join(d, segmentName(id)), '');
    writeFileSync(join(d, 'notes.txt'), '');
    expect(listSegments(d)).toEqual(['events-20-0.ndjson.gz', 'events-999-5.ndjson.gz', 'events-999-12.ndjson.gz', 'events-1000-0.ndjson.gz']);
  });

  it('reads only what was committed: segments up to the current one, and that one up to its committed length', async () => {
    const d = mkdtempSync(join(dir, 'read-'));
    const first = Buffer.concat([member('5-0', '5-1'), member('6-0')]);
    writeFileSync(join(d, segmentName('5-0')), first);
    const committed = member('7-0', '7-1', '8-0');
    // Past the committed length: a member appended before a stop, and a segment begun after it.
    writeFileSync(join(d, segmentName('7-0')), Buffer.concat([committed, member('9-0')]));
    writeFileSync(join(d, segmentName('9-5')), member('9-5'));
    const state = { id: '8-0', n: 6, file: segmentName('7-0'), size: committed.length };
    expect(await readAll(d, state)).toEqual(['5-0/3', '5-1/3', '6-0/3', '7-0/3', '7-1/3', '8-0/3']);
    // Nothing committed yet: nothing to read.
    expect(await readAll(d, { id: '', n: 0, file: '', size: 0 })).toEqual([]);
    // The committed segment missing: an error, never a shorter log.
    await expect(readAll(d, { ...state, file: segmentName('4-0') })).rejects.toThrow(/not in/);
  });
});
