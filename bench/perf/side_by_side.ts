// The table of bench/perf/side_by_side.sh (run as below): the reference's stages (bench/perf/reference_stages.py
// JSON) against ours (`hybridgl bench --json`, p50 of each stage) on the same photo and checkpoints, with the ratio
// reference / ours. Rows pair what does the same work; per-expression stages are summed over the photo's expressions.
//   npx tsx bench/perf/side_by_side.ts REF.json OURS.json [OUT.json]
import { readFileSync, writeFileSync } from 'node:fs';

interface BenchStage { stage: string; per: 'image' | 'expression'; p50: number }
interface Row { stage: string; referenceMs: number; oursMs: number; ratio: number; note?: string }

const [refPath, oursPath, outPath] = process.argv.slice(2);
if (!refPath || !oursPath) throw new Error('usage: side_by_side.ts REF.json OURS.json [OUT.json]');
const ref = JSON.parse(readFileSync(refPath, 'utf8')) as { stagesMs: Record<string, number>; proposals: number; expressions: number; peakRssMiB: number; threads: number; torch: string };
const ours = JSON.parse(readFileSync(oursPath, 'utf8')) as { stages: BenchStage[]; expressions: string[] };

const E = ours.expressions.length;
if (E !== ref.expressions) throw new Error(`expression counts differ: reference ${ref.expressions}, ours ${E}`);
/** Our p50 of a stage over one image: per-expression stages times the number of expressions. */
function our(stage: string): number {
  const s = ours.stages.find((x) => x.stage === stage);
  if (!s) throw new Error(`${oursPath} has no stage ${stage}`);
  return s.per === 'expression' ? s.p50 * E : s.p50;
}
function refMs(stage: string): number {
  const v = ref.stagesMs[stage];
  if (v === undefined) throw new Error(`${refPath} has no stage ${stage}`);
  return v;
}
const sum = (f: (s: string) => number, ...stages: string[]) => stages.reduce((a, s) => a + f(s), 0);

const pairs: Array<[string, number, number, string?]> = [
  ['SAM encoder (1 call)', refMs('samEncoder'), our('samEncoder')],
  ['SAM decoder (64 points × 3 masks)', refMs('samDecoder'), our('samDecoder')],
  ['SAM pre/post-processing, filters, NMS', refMs('samRest'), sum(our, 'samPreprocess', 'samPostprocess')],
  ['SAM proposals (generate)', refMs('samGenerate'), sum(our, 'samPreprocess', 'samEncoder', 'samDecoder', 'samPostprocess')],
  ['CLIP inputs (global + local images)', refMs('clipInputs'), our('clipInputs')],
  ['hybrid features G2L (trunk + head)', refMs('hybridFeatures'), sum(our, 'clipTrunk', 'clipHead')],
  [`GEM visual`, refMs('gemVisual'), our('gem'), `reference: once per expression (${E}×); ours: once per image`],
  [`text features (${E} expressions)`, refMs('text'), our('text'), 'ours includes GEM\'s prompt (the reference: in GEM\'s call)'],
  [`scoring + GEM text/heat map (${E} expressions)`, refMs('scoring') + refMs('gemRest'), sum(our, 'clipScores', 'coherence', 'relation')],
  [`per image, ${E} expressions (total)`, refMs('total'), our('total')],
];
const rows: Row[] = pairs.map(([stage, r, o, note]) => ({ stage, referenceMs: r, oursMs: o, ratio: r / o, ...(note ? { note } : {}) }));

const cells = [['stage', 'reference ms', 'ours ms', 'reference / ours'],
  ...rows.map((r) => [r.stage, r.referenceMs.toFixed(0), r.oursMs.toFixed(0), `${r.ratio.toFixed(1)}×`])];
const w = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
console.log(cells.map((c, k) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ') +
  (k === 0 ? '\n' + w.map((n) => '-'.repeat(n)).join('  ') : '')).join('\n'));
for (const r of rows) if (r.note) console.log(`${r.stage}: ${r.note}`);
console.log(`reference: torch ${ref.torch}, ${ref.threads} threads, ${ref.proposals} proposals, peak RSS ${ref.peakRssMiB.toFixed(0)} MiB`);
if (outPath) writeFileSync(outPath, JSON.stringify({ rows, reference: refPath, ours: oursPath }, null, 2) + '\n');
