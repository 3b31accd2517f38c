// `hybridgl eval`, `eval merge` and `eval report`: argument handling around the eval loop, shards and the report.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { annotationMask } from '../../data/gtMask.ts';
import { ReferDataset, type ReferDatasetName } from '../../data/refer.ts';
import type { ImageProgress } from '../../eval/evalLoop.ts';
import { describeConfiguration, isRunConfiguration } from '../../eval/paperConfig.ts';
import type { ReportExample } from '../../eval/report.ts';
import { groupRuns } from '../../eval/reportTables.ts';
import { RunPlanError } from '../../eval/runPlan.ts';
import { parseShard, type Shard } from '../../eval/shard.ts';
import { autoShard } from '../../eval/shardAuto.ts';
import { mergeRuns, readRun, scoredResults, summarizeResults, type RunSummary } from '../../eval/store.ts';
import { runWorkers } from '../../eval/workers.ts';
import type { AmgOptions } from '../../pipeline/samCrops.ts';
import { printable } from '../../text/printable.ts';
import { usage, type Command, type Log } from '../command.ts';
import { UsageError } from '../errors.ts';
import { createProgress, imageProgressText } from '../progress.ts';

const EVAL_SUMMARY = `  eval --data DIR --dataset refcoco|refcoco+|refcocog --split S --models DIR --out RUNDIR [--resume]
       [--shard i/n] [--fusion F] [--device D] [--precision P] [--image-root DIR] [--limit-images N] [--max-pixels N]
       [--vocab bpe_simple_vocab_16e6.txt.gz] [--workers N] [--devices 0,1,…]
      Evaluates a REFER split: RUNDIR/results.jsonl (one line per sentence, flushed) and RUNDIR/summary.json
      (oIoU, mIoU, precision for the pure-hybrid and the guided result). --resume continues after a crash.
      --workers N runs N processes on shards of the images and merges them (--devices: one worker per CUDA device).
  eval --dataset phrasecut --data VGPhraseCut_v0 --split test … [--sam-points-per-side N] [--sam-points-per-batch N]
      The reference's PhraseCut loop (SAM 64×64 points, crop_n_layers 1); the --sam-* options change its grid.
  eval … --shard auto [--shard-count N]
      The shard from a Slurm array (SLURM_ARRAY_TASK_ID/_COUNT/_MIN/_MAX) or a Kubernetes Indexed Job
      (JOB_COMPLETION_INDEX; the count from --shard-count or $HYBRIDGL_SHARD_COUNT).`;
const MERGE_SUMMARY = `  eval merge --out RUNDIR SHARD_RUNDIR…
      Joins the results of shards into one run with the same totals as an unsharded run; refuses a shard that is
      incomplete, missing, given twice or made with other settings.`;
const REPORT_SUMMARY = `  eval report RUNDIR… [--html report.html] [--md report.md] [--data DIR --dataset D [--image-root DIR] [--examples N]]
      Writes the markdown and self-contained HTML report of one or more runs.`;

export const evalCommand: Command = {
  summary: [EVAL_SUMMARY, MERGE_SUMMARY, REPORT_SUMMARY].join('\n'),
  help: usage('eval', EVAL_SUMMARY, MERGE_SUMMARY, REPORT_SUMMARY),
  subcommands: { merge: { help: usage('eval merge', MERGE_SUMMARY) }, report: { help: usage('eval report', REPORT_SUMMARY) } },
  run: runEvalCommand,
};

const DATASETS = ['refcoco', 'refcoco+', 'refcocog', 'phrasecut'];
const SPLITS = ['train', 'val', 'test', 'testA', 'testB', 'testC', 'testAB', 'testBC', 'testAC'];

/** A run plan that cannot be used as asked is a usage error (exit 2, one line). */
async function usageOnPlanError<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof RunPlanError ? new UsageError(err.message) : err;
  }
}

function printSummary(s: RunSummary, log: Log): void {
  log(`${s.sentences} sentences${s.stickyK ? ' (guided with QUIRK sticky-k over the reference order)' : ''}`);
  if (s.skipped > 0) {
    const first = s.skippedSentences[0];
    log(`${s.skipped} skipped, not in the numbers (in summary.json; e.g. ref ${first.ref_id} sentence ${first.sent_id}: ${printable(first.reason)})`);
  }
  if (s.complete === false) log(`INCOMPLETE: ${s.sentences} of ${s.planned} planned sentences; these numbers are not the split's`);
  else if (s.wholeSplit === false) log('a shard or --limit-images run: these numbers are not the whole split\'s');
  log(`pure hybridgl: ${s.hybrid.oIoU.toFixed(2)} / ${s.hybrid.mIoU.toFixed(2)} (oIoU / mIoU)`);
  log(`hybridgl w/ spatial guidance: ${s.guided.oIoU.toFixed(2)} / ${s.guided.mIoU.toFixed(2)}`);
  if (s.configuration) log(describeConfiguration(s.configuration));
}

async function runEvalCommand(args: string[], log: Log): Promise<number> {
  if (args[0] === 'merge') {
    const { values, positionals } = parseArgs({ args: args.slice(1), allowPositionals: true, options: { out: { type: 'string' } } });
    if (!values.out || positionals.length === 0) throw new UsageError('eval merge needs --out RUNDIR and the shard run directories');
    const s = await usageOnPlanError(() => mergeRuns(positionals, values.out!));
    printSummary(s, log);
    log(`wrote ${join(values.out, 'summary.json')}`);
    return 0;
  }
  if (args[0] === 'report') return report(args.slice(1), log);
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' }, dataset: { type: 'string' }, split: { type: 'string' }, models: { type: 'string' },
      out: { type: 'string' }, resume: { type: 'boolean' }, shard: { type: 'string' }, fusion: { type: 'string' },
      device: { type: 'string' }, precision: { type: 'string' }, 'image-root': { type: 'string' },
      'limit-images': { type: 'string' }, vocab: { type: 'string' }, 'max-pixels': { type: 'string' },
      'shard-count': { type: 'string' },
      'sam-points-per-side': { type: 'string' }, 'sam-points-per-batch': { type: 'string' },
      workers: { type: 'string' }, devices: { type: 'string' },
    },
  });
  for (const k of ['data', 'dataset', 'split', 'models', 'out'] as const) if (!values[k]) throw new UsageError(`eval needs --${k}`);
  if (!DATASETS.includes(values.dataset!)) throw new UsageError(`--dataset must be one of ${DATASETS.join(', ')}`);
  if (!SPLITS.includes(values.split!)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')} (got '${values.split}')`);
  const [{ modelFlags }, { commandAllocatorTuning }] = await Promise.all([import('../modelFlags.ts'), import('../../models/allocatorTuning.ts')]);
  const { fusion, device, precision, maxPixels } = modelFlags(values);
  if (!existsSync(values.data!)) throw new UsageError(`--data ${values.data} does not exist`);
  let shard;
  try {
    shard = values.shard === 'auto' ? shardFromScheduler(values['shard-count'], log) : values.shard ? parseShard(values.shard) : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const limit = values['limit-images'] !== undefined ? Number(values['limit-images']) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit-images must be a positive integer');
  const devices = values.devices?.split(',').map((d) => d.trim());
  if (devices && !devices.every((d) => /^\d+$/.test(d))) throw new UsageError('--devices must be CUDA device numbers, e.g. 0,1');
  const workers = values.workers !== undefined ? Number(values.workers) : devices?.length ?? 1;
  if (!(Number.isInteger(workers) && workers > 0)) throw new UsageError('--workers must be a positive integer');
  if (workers > 1 || devices) {
    // Each worker would stop after N images of its own shard: not the run --limit-images means.
    if (limit !== undefined) throw new UsageError('--limit-images cannot be combined with --workers or --devices');
    const passOn = Object.entries(values).flatMap(([k, v]) =>
      ['out', 'shard', 'shard-count', 'workers', 'devices'].includes(k) ? [] : v === true ? [`--${k}`] : typeof v === 'string' ? [`--${k}`, v] : []);
    let summary: RunSummary;
    try {
      summary = await runWorkers({ args: passOn, out: values.out!, workers, devices, shard, log });
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(err.message);
      throw err;
    }
    printSummary(summary, log);
    log(`wrote ${join(values.out!, 'results.jsonl')} and summary.json (merged from ${workers} workers)`);
    return 0;
  }
  const progress = createProgress(`${values.dataset} ${values.split}${shard ? ` shard ${shard.index}/${shard.count}` : ''}`);
  const common = {
    data: values.data!, split: values.split!, models: values.models!,
    out: values.out!, resume: values.resume, shard, fusion, device, precision,
    imageRoot: values['image-root'], vocabPath: values.vocab, limitImages: limit, maxPixels, allocator: commandAllocatorTuning(),
    onProgress: (done: number, total: number, within?: ImageProgress) =>
      progress(done, total, false, within ? imageProgressText(within) : undefined),
  };
  const [{ runEval }, { runPhraseCutEval }] = await Promise.all([import('../../eval/evaluate.ts'), import('../../eval/phraseCutEval.ts')]);
  const summary = values.dataset === 'phrasecut'
    ? await usageOnPlanError(() => runPhraseCutEval({ ...common, amg: samOverrides(values['sam-points-per-side'], values['sam-points-per-batch']) }))
    : await usageOnPlanError(() => runEval({ ...common, dataset: values.dataset as ReferDatasetName }));
  progress(summary.sentences, summary.sentences, true);
  printSummary(summary, log);
  log(`wrote ${join(values.out!, 'results.jsonl')} and summary.json`);
  return 0;
}

/** `--shard auto`: the index and count from Slurm or a Kubernetes Indexed Job; says which on stderr. */
function shardFromScheduler(countText: string | undefined, log: Log): Shard {
  const count = countText !== undefined ? Number(countText) : undefined;
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new RangeError('--shard-count must be a positive integer');
  const { shard, source } = autoShard(process.env, count);
  log(`--shard auto: shard ${shard.index}/${shard.count} from ${source}`);
  return shard;
}

/** Opt-in changes to PhraseCut's SAM grid (e.g. a fast CI run); the default is the reference's 64 points, 64 per batch. */
function samOverrides(perSide: string | undefined, perBatch: string | undefined): AmgOptions | undefined {
  const amg: AmgOptions = {};
  for (const [name, text, key] of [['--sam-points-per-side', perSide, 'pointsPerSide'], ['--sam-points-per-batch', perBatch, 'pointsPerBatch']] as const) {
    if (text === undefined) continue;
    const v = Number(text);
    if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${name} must be a positive integer`);
    amg[key] = v;
  }
  return Object.keys(amg).length > 0 ? amg : undefined;
}

async function report(args: string[], log: Log): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { html: { type: 'string' }, md: { type: 'string' }, data: { type: 'string' }, dataset: { type: 'string' }, 'image-root': { type: 'string' }, examples: { type: 'string' } },
  });
  if (positionals.length === 0) throw new UsageError('eval report needs at least one run directory');
  const { overlayPng, pickExamples, reportHtml, reportMarkdown } = await import('../../eval/report.ts');
  const runs = positionals.map((dir) => ({ dir, ...readRun(dir) }));
  const sections = runs.map((r) => ({
    title: `${r.meta.dataset ?? '?'} ${r.meta.split ?? '?'} (${r.meta.fusion ?? 'G2L'})`,
    summary: summarizeResults(r.results),
    results: scoredResults(r.results),
    ...(isRunConfiguration(r.meta.configuration) ? { configuration: r.meta.configuration } : {}),
  }));
  const input = { title: 'hybridgl evaluation', sections, datasets: groupRuns(runs) } as Parameters<typeof reportHtml>[0];
  if (values.dataset === 'phrasecut') throw new UsageError('eval report: examples (--data, --dataset) are for the REFER datasets only');
  if (values.data && values.dataset) {
    const [{ loadDataset }, { rleDecode, rleFromPolygons }] = await Promise.all([import('../../eval/evalLoop.ts'), import('../../../bindings/rle.ts')]);
    // Examples need the images and ground truth: taken from the first run.
    const ds = loadDataset(() => ReferDataset.load(values.data!, values.dataset as ReferDatasetName, { imageRoot: values['image-root'] }));
    const n = values.examples ? Number(values.examples) : 3;
    const { best, worst } = pickExamples(scoredResults(runs[0].results), n);
    const toExample = async (r: (typeof best)[number], title: string): Promise<ReportExample> => {
      const ref = ds.refs.find((x) => x.ref_id === r.ref_id);
      if (!ref) throw new UsageError(`eval report: ref ${r.ref_id} of ${positionals[0]} is not in --data ${values.data} (${values.dataset})`);
      const image = ds.images.get(ref.image_id)!;
      const gt = annotationMask(ds.annotations.get(ref.ann_id)!, image, { rleFromPolygons, rleDecode });
      const pred = r.guided.rle ? rleDecode(r.guided.rle) : undefined;
      return { title, sentence: r.sentence ?? '', iou: r.guided.iou, png: await overlayPng(ds.imagePath(image), { pred, gt }) };
    };
    input.best = await Promise.all(best.map((r, i) => toExample(r, `best #${i + 1}`)));
    input.worst = await Promise.all(worst.map((r, i) => toExample(r, `worst #${i + 1}`)));
  }
  const html = values.html ?? join(positionals[0], 'report.html');
  const md = values.md ?? join(positionals[0], 'report.md');
  writeFileSync(html, reportHtml(input));
  writeFileSync(md, reportMarkdown(input));
  log(`wrote ${html} and ${md}`);
  return 0;
}
