// Spec §0: the evaluation report — markdown and one self-contained HTML page (tables, IoU histogram, examples).
import sharp from 'sharp';

import { loadImage, type ImageInput } from '../pipeline/image.ts';
import { tintMask } from '../render/overlay.ts';
import { PRECISION_THRESHOLDS, type MetricSummary } from './metrics.ts';
import { describeConfiguration, type RunConfiguration } from './paperConfig.ts';
import { datasetTablesHtml, datasetTablesMarkdown, type DatasetTable } from './reportTables.ts';
import type { RunSummary, SentenceResult } from './store.ts';

/** One table of the report: a dataset split's summary and its sentences (for the histogram). */
export interface ReportSection {
  title: string;
  summary: RunSummary;
  results: SentenceResult[];
  /** What ran; a run that is not the paper's configuration says so under its table. */
  configuration?: RunConfiguration;
}

/** An example shown as an image: an overlay PNG (e.g. from overlayPng) with what it shows. */
export interface ReportExample {
  title: string;
  sentence: string;
  iou: number;
  png: Uint8Array;
}

export interface ReportInput {
  title: string;
  sections: ReportSection[];
  /** Paper-style tables of the runs grouped by dataset, split and fusion (groupRuns), shown first. */
  datasets?: DatasetTable[];
  best?: ReportExample[];
  worst?: ReportExample[];
}

const RESULTS = [['hybrid', 'pure HybridGL'], ['guided', 'w/ spatial guidance']] as const;
const fmt = (v: number) => v.toFixed(2);

function row(m: MetricSummary): string[] {
  return [fmt(m.oIoU), fmt(m.mIoU), ...PRECISION_THRESHOLDS.map((t) => fmt(m.precision[t.toFixed(1)] ?? 0))];
}
const HEADER = ['result', 'oIoU', 'mIoU', ...PRECISION_THRESHOLDS.map((t) => `P@${t.toFixed(1)}`)];

/** The best and worst n sentences by IoU of one result (ties broken by ref and sentence id, so stable). */
export function pickExamples(results: SentenceResult[], n: number, by: 'hybrid' | 'guided' = 'guided') {
  const sorted = [...results].sort((a, b) => b[by].iou - a[by].iou || a.ref_id - b.ref_id || a.sent_id - b.sent_id);
  return { best: sorted.slice(0, n), worst: sorted.slice(Math.max(n, sorted.length - n)).reverse() };
}

/** Counts of IoUs in 10 bins [0, 0.1), …, [0.9, 1.0] (1.0 in the last). */
export function iouHistogram(ious: number[], bins = 10): number[] {
  const h = new Array<number>(bins).fill(0);
  for (const v of ious) h[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]++;
  return h;
}

export function reportMarkdown(input: ReportInput): string {
  const lines = [`# ${input.title}`, '', ...datasetTablesMarkdown(input.datasets ?? [])];
  for (const s of input.sections) {
    lines.push(`## ${s.title}`, '', `${s.summary.sentences} sentences.`, '');
    if (s.configuration) lines.push(`${s.configuration.paper ? '' : '**'}Configuration: ${describeConfiguration(s.configuration)}${s.configuration.paper ? '' : '**'}`, '');
    lines.push(`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => ' --- ').join('|')}|`);
    for (const [key, name] of RESULTS) lines.push(`| ${[name, ...row(s.summary[key])].join(' | ')} |`);
    lines.push('');
  }
  for (const [name, list] of [['Best', input.best], ['Worst', input.worst]] as const)
    if (list?.length) {
      lines.push(`## ${name} examples`, '');
      for (const e of list) lines.push(`- ${e.title}: "${e.sentence}" (IoU ${fmt(e.iou * 100)})`);
      lines.push('');
    }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A bar chart of both results' IoU histograms as inline SVG. */
function histogramSvg(section: ReportSection): string {
  const hists = RESULTS.map(([key]) => iouHistogram(section.results.map((r) => r[key].iou)));
  const max = Math.max(1, ...hists.flat());
  const W = 420, H = 160, left = 30, bottom = 20, binW = (W - left) / 10;
  const colours = ['#8da0cb', '#fc8d62'];
  const bars = hists.flatMap((h, s) => h.map((c, b) => {
    const bh = ((H - bottom - 10) * c) / max;
    const x = left + b * binW + 2 + s * (binW / 2 - 2);
    return `<rect x="${x.toFixed(1)}" y="${(H - bottom - bh).toFixed(1)}" width="${(binW / 2 - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colours[s]}"><title>${RESULTS[s][1]} ${b / 10}–${(b + 1) / 10}: ${c}</title></rect>`;
  }));
  const ticks = Array.from({ length: 11 }, (_, k) =>
    `<text x="${(left + k * binW).toFixed(1)}" y="${H - 5}" font-size="9" text-anchor="middle">${(k / 10).toFixed(1)}</text>`);
  const legend = RESULTS.map(([, name], s) => `<rect x="${left + 10 + s * 150}" y="2" width="10" height="10" fill="${colours[s]}"/><text x="${left + 24 + s * 150}" y="11" font-size="10">${name}</text>`);
  return `<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="IoU histogram">` +
    `<line x1="${left}" y1="${H - bottom}" x2="${W}" y2="${H - bottom}" stroke="#444"/><text x="2" y="20" font-size="9">${max}</text>` +
    bars.join('') + ticks.join('') + legend.join('') + '</svg>';
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
.not-paper{color:#a40000;font-weight:600}
figure{display:inline-block;margin:6px;vertical-align:top;max-width:340px}figcaption{font-size:12px}img{display:block;max-width:320px}`;

export function reportHtml(input: ReportInput): string {
  const parts = [`<!doctype html><html><head><meta charset="utf-8"><title>${esc(input.title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(input.title)}</h1>`, ...datasetTablesHtml(input.datasets ?? [], esc)];
  for (const s of input.sections) {
    const config = s.configuration
      ? `<p class="configuration${s.configuration.paper ? '' : ' not-paper'}">Configuration: ${esc(describeConfiguration(s.configuration))}</p>` : '';
    parts.push(`<section><h2>${esc(s.title)}</h2><p>${s.summary.sentences} sentences.</p>${config}<table><thead><tr>${HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`);
    for (const [key, name] of RESULTS)
      parts.push(`<tr class="result-${key}">${[name, ...row(s.summary[key])].map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
    parts.push('</tbody></table>', histogramSvg(s), '</section>');
  }
  for (const [name, list] of [['Best', input.best], ['Worst', input.worst]] as const)
    if (list?.length) {
      parts.push(`<section><h2>${name} examples</h2>`);
      for (const e of list)
        parts.push(`<figure><img alt="${esc(e.sentence)}" src="data:image/png;base64,${Buffer.from(e.png).toString('base64')}"><figcaption>${esc(e.title)}: “${esc(e.sentence)}” (IoU ${fmt(e.iou * 100)})</figcaption></figure>`);
      parts.push('</section>');
    }
  parts.push('</body></html>');
  return parts.join('\n');
}

/**
 * An overlay PNG: the image with the prediction tinted green and the ground truth's boundary in red, scaled to
 * fit maxSide. Masks are row-major H×W at the image's size.
 */
export async function overlayPng(image: ImageInput, masks: { pred?: Uint8Array; gt?: Uint8Array }, maxSide = 320): Promise<Buffer> {
  const img = await loadImage(image);
  const { height: h, width: w } = img;
  for (const [name, m] of Object.entries(masks))
    if (m && m.length !== w * h) throw new RangeError(`overlayPng: ${name} mask has ${m.length} pixels, the image ${w}×${h}`);
  const { pred, gt } = masks;
  const rgb = pred ? tintMask(img, pred, [20, 220, 80], 0.5) : new Uint8Array(img.rgb);
  const set = (m: Uint8Array, x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && m[y * w + x] !== 0;
  if (gt)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        if (gt[y * w + x] && !(set(gt, x - 1, y) && set(gt, x + 1, y) && set(gt, x, y - 1) && set(gt, x, y + 1)))
          rgb.set([255, 40, 40], (y * w + x) * 3);
  const scale = Math.min(1, maxSide / Math.max(w, h));
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale)), { kernel: 'nearest' })
    .png()
    .toBuffer();
}
