// `hybridgl models convert|fetch`: argument handling around src/models/convert.ts and src/models/fetch.ts, with a
// progress bar per download and for the conversion.
import { parseArgs } from 'node:util';

import { PRECISIONS, type Precision } from '../../models/modelTypes.ts';
import { usage, type Command, type Log } from '../command.ts';
import { UsageError } from '../errors.ts';
import { byteProgressBars } from '../progress.ts';

const CONVERT_SUMMARY = `  models convert --sam PATH --clip PATH --out DIR [--sam-type vit_h|vit_l|vit_b] [--precision fp32,fp16,int8]
      Converts segment-anything's sam_vit_*.pth and OpenAI's ViT-B-16.pt into a model directory (no Python);
      the SAM type is read off the checkpoint. Graph templates ship for vit_h, vit_l and vit_b (vit_h's fp32
      encoder is written as ONNX external data, sam_encoder.fp32.onnx + .data). --precision lists the graphs
      to write: fp32 (the default, the reference's), fp16 (for CUDA), int8 (the CLIP trunk and heads, for CPUs
      with AVX-512 VNNI or AMX; fp32 comes with it, for the other models).`;
const FETCH_SUMMARY = `  models fetch --out DIR [--sam vit_h|vit_l|vit_b] [--precision fp32,fp16,int8] [--from DIR|URL]
      Downloads the official checkpoints (resumable, sha256-checked) and converts them. Default --sam vit_h, the
      paper's SAM (2.6 GB + CLIP 0.35 GB); vit_b (0.37 GB) is the small one, for trying things out; --from takes downloaded checkpoints, or a model directory served over HTTP.`;
const HELP = `usage: hybridgl models <convert|fetch> [options]\n\n${CONVERT_SUMMARY}\n${FETCH_SUMMARY}`;

export const modelsCommand: Command = {
  summary: '  models convert|fetch …   (hybridgl models help)',
  help: HELP,
  subcommands: { convert: { help: usage('models convert', CONVERT_SUMMARY) }, fetch: { help: usage('models fetch', FETCH_SUMMARY) } },
  run: runModels,
};

function precisions(value: unknown): Precision[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : ['fp32'];
  for (const p of list) if (!(PRECISIONS as readonly string[]).includes(p)) throw new UsageError(`--precision takes ${PRECISIONS.join(', ')} (a comma-separated list), got ${p}`);
  return list as Precision[];
}

async function runModels(argv: string[], log: Log): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === 'help') {
    console.log(HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      sam: { type: 'string' }, clip: { type: 'string' }, out: { type: 'string' }, 'sam-type': { type: 'string' },
      precision: { type: 'string' }, from: { type: 'string' }, templates: { type: 'string' }, vocab: { type: 'string' },
    },
  });
  if (typeof values.out !== 'string') throw new UsageError(`models ${sub} needs --out DIR`);
  const [{ ConvertError, convertCheckpoints }, { CheckpointError }, { FetchError, fetchModels }, { TemplateError }, { ZipError }] = await Promise.all([
    import('../../models/convert.ts'), import('../../models/checkpoint.ts'), import('../../models/fetch.ts'),
    import('../../models/onnxTemplate.ts'), import('../../models/zipArchive.ts')]);
  try {
    if (sub === 'convert') {
      if (typeof values.sam !== 'string' || typeof values.clip !== 'string') throw new UsageError('models convert needs --sam PATH and --clip PATH');
      const m = await convertCheckpoints({ sam: values.sam, clip: values.clip, out: values.out, samType: values['sam-type'],
        precisions: precisions(values.precision), templates: values.templates, vocab: values.vocab, onProgress: byteProgressBars(),
        command: ['hybridgl', 'models', ...argv].join(' ') });
      log(`wrote ${m.files.length} models to ${values.out}`);
      return 0;
    }
    if (sub === 'fetch') {
      const m = await fetchModels({ out: values.out, samType: values.sam, precisions: precisions(values.precision),
        from: values.from, templates: values.templates, vocab: values.vocab, onProgress: byteProgressBars() });
      log(`${m.files.length} models ready in ${values.out}`);
      return 0;
    }
  } catch (e) {
    // A checkpoint, template or download that cannot be used: its message, exit 4.
    if ([ConvertError, CheckpointError, FetchError, TemplateError, ZipError].some((c) => e instanceof c)) {
      log((e as Error).message);
      return 4;
    }
    throw e;
  }
  throw new UsageError(`models needs convert or fetch, got '${sub}'`);
}
