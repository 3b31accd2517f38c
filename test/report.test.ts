import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { runConfiguration } from '../src/eval/paperConfig.ts';
import { iouHistogram, overlayPng, pickExamples, reportHtml, reportMarkdown, type ReportInput } from '../src/eval/report.ts';
import { summarizeResults, type SentenceResult } from '../src/eval/store.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';

const root = mkdtempSync(join(tmpdir(), 'hybridgl-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pred = (intersection: number, union: number) => ({ intersection, union, iou: union ? intersection / union : 0 });
const results: SentenceResult[] = [
  { ref_id: 1, sent_id: 1, image_id: 9, sentence: 'red <circle> on the left', hybrid: pred(9, 10), guided: pred(10, 10) },
  { ref_id: 2, sent_id: 2, image_id: 9, sentence: 'blue square', hybrid: pred(1, 10), guided: pred(6, 10) },
  { ref_id: 3, sent_id: 3, image_id: 9, sentence: 'green thing', hybrid: pred(0, 10), guided: pred(2, 10) },
];

async function input(): Promise<ReportInput> {
  await writeSynthRefer(join(root, 'data'));
  const img = join(root, 'data', 'images', 'mscoco', 'images', 'train2014', 'COCO_train2014_000000001000.jpg');
  const { width, height } = await sharp(img).metadata();
  const square = (x0: number, y0: number, s: number) => {
    const m = new Uint8Array(width! * height!);
    for (let y = y0; y < y0 + s; y++) m.fill(1, y * width! + x0, y * width! + x0 + s);
    return m;
  };
  const png = await overlayPng(img, { pred: square(10, 35, 50), gt: square(13, 38, 45) });
  const { best, worst } = pickExamples(results, 1);
  const ex = (r: SentenceResult) => ({ title: `ref ${r.ref_id}`, sentence: r.sentence!, iou: r.guided.iou, png });
  return {
    title: 'synthetic refcoco',
    sections: [{ title: 'refcoco val', summary: summarizeResults(results), results }],
    best: best.map(ex),
    worst: worst.map(ex),
  };
}

describe('report', () => {
  it('bins IoUs and picks the best and worst sentences', () => {
    expect(iouHistogram([0, 0.05, 0.1, 0.55, 0.99, 1])).toEqual([2, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
    const { best, worst } = pickExamples(results, 1, 'hybrid');
    expect(best.map((r) => r.ref_id)).toEqual([1]);
    expect(worst.map((r) => r.ref_id)).toEqual([3]);
  });

  it('writes the summary as a markdown table', async () => {
    const md = reportMarkdown(await input());
    // hybrid: oIoU 10/30, mIoU (0.9+0.1+0)/3; guided: 18/30, (1+0.6+0.2)/3; P@0.5: 1/3, 2/3.
    expect(md).toContain('| pure HybridGL | 33.33 | 33.33 | 33.33 | 33.33 | 33.33 | 33.33 | 33.33 |');
    expect(md).toContain('| w/ spatial guidance | 60.00 | 60.00 | 66.67 | 66.67 | 33.33 | 33.33 | 33.33 |');
  });

  it('says under a table when its run is not the paper\'s configuration', async () => {
    const base = await input();
    const configuration = runConfiguration(JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'e2e', 'models', 'manifest.json'), 'utf8')),
      { fusion: 'L2G', precision: 'fp32' });
    const md = reportMarkdown({ ...base, sections: [{ ...base.sections[0], configuration }] });
    expect(md).toMatch(/\*\*Configuration: SAM vit_h-tiny, CLIP custom .*, fusion L2G, fp32\. Not the paper's configuration: SAM vit_h-tiny \(the paper: vit_h\); .*fusion L2G \(the reference's default: G2L\)\.\*\*/);
    const html = reportHtml({ ...base, sections: [{ ...base.sections[0], configuration }] });
    expect(html).toMatch(/<p class="configuration not-paper">Configuration: SAM vit_h-tiny, .*Not the paper&#39;s configuration/);
    expect(reportMarkdown(base)).not.toContain('Configuration:');
  });

  it('draws the overlay: prediction tinted, GT boundary red', async () => {
    const { png } = (await input()).best![0];
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(at(13, 50)).toEqual([255, 40, 40]); // the GT's left edge
    expect(at(30, 50)[1]).toBeGreaterThan(110); // inside the prediction: green tint
    await expect(overlayPng(png, { pred: new Uint8Array(3) })).rejects.toThrow(/pred mask has 3 pixels/);
  });

  const chromium = '/usr/bin/chromium';
  const hasChromium = existsSync(chromium);
  // .ci/run installs chromium and sets HYBRIDGL_REQUIRE_CHROMIUM: there a missing browser fails instead of skipping.
  const required = process.env.HYBRIDGL_REQUIRE_CHROMIUM === '1';
  const title = 'renders in headless Chromium: tables, histogram and images' +
    (hasChromium || required ? '' : ` (SKIPPED: ${chromium} is missing; install Debian's chromium package)`);
  it.skipIf(!hasChromium && !required)(title, async () => {
    expect(hasChromium, `${chromium} is missing`).toBe(true);
    const html = reportHtml(await input());
    expect(html).not.toMatch(/<script|src="(?!data:)/); // self-contained
    // Probe: after load, write each image's natural width into the DOM that --dump-dom prints.
    const probe = `<script>addEventListener('load',()=>{document.body.dataset.imageWidths=[...document.images].map(i=>i.naturalWidth).join(',')})</script>`;
    const file = join(root, 'report.html');
    writeFileSync(file, html.replace('</body>', `${probe}</body>`));
    const r = spawnSync(chromium, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${join(root, 'chromium-profile')}`, '--virtual-time-budget=5000',
      '--dump-dom', `file://${file}`,
    ], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const dom = r.stdout;
    expect(dom).toMatch(/<tr class="result-hybrid"><td>pure HybridGL<\/td><td>33.33<\/td>/);
    expect(dom).toMatch(/<tr class="result-guided"><td>w\/ spatial guidance<\/td><td>60.00<\/td>/);
    expect(dom).toContain('&lt;circle&gt;'); // text is escaped, not markup
    expect(dom).toMatch(/<svg class="histogram"[^>]*>.*<rect/s);
    const widths = /data-image-widths="([^"]*)"/.exec(dom)?.[1].split(',').map(Number);
    expect(widths).toEqual([160, 160]);
  });
});
