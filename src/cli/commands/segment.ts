// `hybridgl segment`: one image (segmentOnce) or a stream of JSON lines on stdin (segmentStream).
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import type { Segmenter, SegmentResult } from '../../segmenter.ts';
import { usage, type Command, type Log } from '../command.ts';
import { EXIT, UsageError } from '../errors.ts';

type Values = Record<string, string | boolean | undefined>;

const SUMMARY = `  segment <image> "<expression>" ["<expression>" …] --models DIR [--out overlay.png] [--json result.json]
          [--sheet candidates.png] [--fusion G2L|L2G|G2L&L2G|crop|token_masking|attn_masking]
          [--device auto|cpu|cuda] [--precision fp32|fp16|int8] [--no-guidance] [--vocab bpe_simple_vocab_16e6.txt.gz]
          [--colour-managed] [--exif-orientation] [--max-pixels N]
      Segments the object each expression refers to; prints the result JSON unless --json is given.
      The image is decoded as PIL does (ICC profile and EXIF orientation ignored) unless --colour-managed (ICC → sRGB)
      or --exif-orientation (masks in the EXIF-turned orientation) is given.
  segment --jsonl --models DIR [options]
      Streams: reads {"image": PATH, "expressions": [...]} lines on stdin, writes one result line per non-blank
      input line (models loaded once; blank lines are skipped, "line" counts them). A failed line gives
      {"line": n, "error": "..."} and the stream goes on.`;

export const segmentCommand: Command = { summary: SUMMARY, help: usage('segment', SUMMARY), run: runSegment };

async function runSegment(args: string[], log: Log): Promise<number> {
  const { SEGMENTER_FLAGS } = await import('../segmenterFlags.ts');
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...SEGMENTER_FLAGS, out: { type: 'string' }, json: { type: 'string' }, sheet: { type: 'string' }, jsonl: { type: 'boolean' },
    },
  });
  return values.jsonl ? segmentStream(values, log) : segmentOnce(positionals, values, log);
}

async function openSegmenter(values: Values, log: Log): Promise<Segmenter> {
  const [{ segmenterOptions }, { createSegmenter }, { commandAllocatorTuning }] = await Promise.all([
    import('../segmenterFlags.ts'), import('../../segmenter.ts'), import('../../models/allocatorTuning.ts')]);
  const options = segmenterOptions(values);
  const t0 = performance.now();
  log(`loading models from ${options.models} (${options.device ?? 'auto'}, ${options.precision ?? 'fp32'})`);
  // One-shot and streamed: sessions are created at first use and not warmed up (a warm-up run costs what it saves).
  const segmenter = await createSegmenter({ ...options, load: { lazy: true, warmup: false, allocator: commandAllocatorTuning() } });
  log(`models ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return segmenter;
}

function timingLine(r: SegmentResult): string {
  return Object.entries(r.timings)
    .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
    .join(', ');
}

async function segmentOnce(positionals: string[], values: Values, log: Log): Promise<number> {
  const [image, ...expressions] = positionals;
  if (!image) throw new UsageError('segment needs an image path');
  if (expressions.length === 0) throw new UsageError('segment needs at least one expression');
  const segmenter = await openSegmenter(values, log);
  const [{ resultJson }, { renderContactSheet, renderOverlay }] = await Promise.all([import('../../resultJson.ts'), import('../../render/overlay.ts')]);
  try {
    const result = await segmenter.segment(image, expressions);
    log(`${result.proposals} proposals; ${timingLine(result)}`);
    const json = JSON.stringify(resultJson(result.results), null, 2);
    if (typeof values.json === 'string') writeFileSync(values.json, json + '\n');
    else process.stdout.write(json + '\n');
    if (typeof values.out === 'string' || typeof values.sheet === 'string') {
      const img = result.imageData;
      for (const [i, r] of result.results.entries()) {
        const suffix = result.results.length > 1 ? `.${i}` : '';
        if (typeof values.out === 'string') {
          const png = await renderOverlay(img, segmenter.decodeMask(r.mask), { bbox: r.bbox, caption: r.expression });
          const path = withSuffix(values.out, suffix);
          writeFileSync(path, png);
          log(`wrote ${path}`);
        }
        if (typeof values.sheet === 'string') {
          const entries = r.candidates.map((c) => ({
            mask: segmenter.decodeMask(c.mask),
            bbox: c.bbox,
            label: `#${c.proposal} clip ${c.clip.toFixed(2)}${c.final !== undefined ? ` final ${c.final.toFixed(3)}` : ''}`,
          }));
          const path = withSuffix(values.sheet, suffix);
          writeFileSync(path, await renderContactSheet(img, entries));
          log(`wrote ${path}`);
        }
      }
    }
    return EXIT.ok;
  } finally {
    await segmenter.dispose();
  }
}

function withSuffix(path: string, suffix: string): string {
  if (!suffix) return path;
  const dot = path.lastIndexOf('.');
  return dot > 0 ? `${path.slice(0, dot)}${suffix}${path.slice(dot)}` : `${path}${suffix}`;
}

async function segmentStream(values: Values, log: Log): Promise<number> {
  const segmenter = await openSegmenter(values, log);
  const [{ resultJson }, { SegmentError }] = await Promise.all([import('../../resultJson.ts'), import('../../segmenter.ts')]);
  let lineNo = 0, failed = 0;
  try {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      try {
        const req = JSON.parse(line);
        if (typeof req?.image !== 'string') throw new SegmentError('badInput', `"image" must be a path string`);
        if (!Array.isArray(req.expressions)) throw new SegmentError('badInput', `"expressions" must be an array of strings`);
        const result = await segmenter.segment(req.image, req.expressions);
        process.stdout.write(JSON.stringify({ line: lineNo, image: req.image, results: resultJson(result.results) }) + '\n');
        log(`line ${lineNo}: ${req.image}: ${result.proposals} proposals; ${timingLine(result)}`);
      } catch (err) {
        failed++;
        const message = err instanceof SyntaxError ? `not JSON: ${err.message}` : err instanceof Error ? err.message : String(err);
        process.stdout.write(JSON.stringify({ line: lineNo, error: message }) + '\n');
        log(`line ${lineNo}: ${message}`);
      }
    }
  } finally {
    await segmenter.dispose();
  }
  log(`${lineNo} lines, ${failed} failed`);
  return failed ? EXIT.failure : EXIT.ok;
}
