import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { writeSynthRefer } from '../src/eval/synthRefer.ts';

const root = mkdtempSync(join(tmpdir(), 'hybridgl-synth-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeSynthRefer', () => {
  it('writes the REFER layout with identical bytes on every run', async () => {
    const a = await writeSynthRefer(join(root, 'a'));
    const b = await writeSynthRefer(join(root, 'b'));
    expect(a.images).toBe(6);
    expect(a.sentences).toBeGreaterThan(a.refs);
    const rel = (f: string, d: string) => relative(join(root, d), f);
    expect(b.files.map((f) => rel(f, 'b'))).toEqual(a.files.map((f) => rel(f, 'a')));
    expect(a.files.map((f) => rel(f, 'a'))).toContain(join('refcoco', 'refs(unc).p'));
    for (let k = 0; k < a.files.length; k++) expect(readFileSync(b.files[k]).equals(readFileSync(a.files[k]))).toBe(true);
  });

  it('writes decodable images of the sizes instances.json gives', async () => {
    const dir = join(root, 'a');
    const inst = JSON.parse(readFileSync(join(dir, 'refcoco', 'instances.json'), 'utf8'));
    for (const im of inst.images) {
      const meta = await sharp(join(dir, 'images', 'mscoco', 'images', 'train2014', im.file_name)).metadata();
      expect([meta.width, meta.height]).toEqual([im.width, im.height]);
    }
    expect(inst.annotations.some((a: { segmentation: unknown }) => !Array.isArray(a.segmentation))).toBe(true);
    expect(inst.annotations.some((a: { segmentation: unknown[] }) => Array.isArray(a.segmentation) && a.segmentation.length === 2)).toBe(true);
  });

  it.skipIf(!existsSync('/usr/bin/python3'))("has a refs pickle Python's pickle reads as REFER expects", () => {
    const code = [
      'import pickle, json, sys',
      'refs = pickle.load(open(sys.argv[1], "rb"))',
      'splits = sorted({r["split"] for r in refs})',
      'print(json.dumps({"n": len(refs), "splits": splits, "keys": sorted(refs[0]), "sent": sorted(refs[0]["sentences"][0])}))',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', code, join(root, 'a', 'refcoco', 'refs(unc).p')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      n: 13,
      splits: ['testA', 'testB', 'val'],
      keys: ['ann_id', 'category_id', 'file_name', 'image_id', 'ref_id', 'sent_ids', 'sentences', 'split'],
      sent: ['raw', 'sent', 'sent_id', 'tokens'],
    });
  });
});
