// Spec §2, §4, §5, §8: the Models API over a load's sessions. Each call checks its tensors against the manifest,
// runs its batch in calls of a few rows (CPU) and joins the outputs; the allocator policy runs around each call.
import * as ort from 'onnxruntime-node';

import { releaseFreeHeap } from '../../bindings/heap.ts';
import type { AllocatorHooks } from './allocatorTuning.ts';
import {
  HEAD_MODELS, type FloatTensor, type IdTensor, type Manifest, type ManifestFile, type ModelName, type Models, type TensorSpec,
} from './modelTypes.ts';
import type { ModelSessions } from './sessions.ts';

/** Rows per session call on CPU. A batch runs a few rows at a time so that each intermediate (the decoder's keys are
 *  prompts × 4096 × 256 floats) stays small enough for malloc to reuse freed memory rather than map and zero fresh
 *  pages on every node: less memory and less time. Rows are independent, so the outputs are the whole batch's. */
export const CPU_ROWS_PER_CALL: Partial<Record<ModelName, number>> = {
  sam_decoder: 4, clip_trunk: 8, clip_head_g2l: 8, clip_head_l2g: 8, clip_head_g2l_l2g: 8, clip_head_token_masking: 8,
  clip_head_attn_masking: 8, clip_head_crop: 8,
};

export interface RunnerSettings {
  manifest: Manifest;
  precision: Models['precision'];
  vocabPath: string | null;
  byModel: Map<ModelName, ManifestFile>;
  /** Rows per call by model, over CPU_ROWS_PER_CALL on CPU (Infinity: the whole batch in one call). */
  rowsPerCall: Partial<Record<ModelName, number>> | undefined;
  allocator: AllocatorHooks;
  /** Profiled sessions: the heap is trimmed after every session run. */
  profile: boolean;
}

function describe(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(', ')}]`;
}

function toOrt(value: FloatTensor | IdTensor, spec: TensorSpec, model: string): ort.Tensor {
  const rankOk = value.dims.length === spec.shape.length;
  const sizesOk = rankOk && spec.shape.every((s, i) => typeof s === 'string' || s === value.dims[i]);
  if (!sizesOk)
    throw new RangeError(`${model}: ${spec.name} has dims ${describe(value.dims)}, expected ${describe(spec.shape)}`);
  const count = value.dims.reduce((a, b) => a * b, 1);
  if (value.data.length !== count)
    throw new RangeError(`${model}: ${spec.name} has ${value.data.length} values for dims ${describe(value.dims)}`);
  if (spec.dtype === 'int64') {
    const data = value.data instanceof BigInt64Array ? value.data : BigInt64Array.from(value.data as Int32Array, BigInt);
    return new ort.Tensor('int64', data, value.dims);
  }
  if (!(value.data instanceof Float32Array)) throw new TypeError(`${model}: ${spec.name} must be a Float32Array`);
  return new ort.Tensor('float32', value.data, value.dims);
}

/** The outputs of the calls' parts joined along the batch (n rows). */
function joinParts(file: ManifestFile, parts: ort.InferenceSession.OnnxValueMapType[], n: number): FloatTensor[] {
  return file.outputs.map((spec) => {
    if (parts.length === 1) {
      const t = parts[0][spec.name];
      return { data: t.data as Float32Array, dims: [...t.dims] };
    }
    const chunks = parts.map((p) => p[spec.name]);
    const data = new Float32Array(chunks.reduce((a, t) => a + t.size, 0));
    let at = 0;
    for (const t of chunks) data.set(t.data as Float32Array, at), (at += t.size);
    return { data, dims: [n, ...chunks[0].dims.slice(1)] };
  });
}

/** The Models of a load: its sessions behind the typed calls. */
export function createModelRunner(sessions: ModelSessions, settings: RunnerSettings): Models {
  const { byModel, allocator, profile } = settings;
  const rows = { ...(sessions.device === 'cpu' ? CPU_ROWS_PER_CALL : {}), ...settings.rowsPerCall };
  const run = async (name: ModelName, args: Array<FloatTensor | IdTensor>): Promise<FloatTensor[]> => {
    const session = await sessions.sessionFor(name);
    const file = byModel.get(name)!;
    const tensors = file.inputs.map((spec, i) => toOrt(args[i], spec, name));
    // The inputs batched with the outputs (same symbolic first size): those split into calls of `per` rows.
    const batchName = file.outputs[0].shape[0];
    const sameBatch = file.inputs.map((spec) => typeof batchName === 'string' && spec.shape[0] === batchName);
    const n = tensors.find((_, i) => sameBatch[i])?.dims[0] ?? 0;
    // An input with a batch of its own (token_masking's and attn_masking's tokens: one row broadcast over the masks,
    // or a row per mask) is split with the others where it has a row per output row.
    const batched = file.inputs.map((spec, i) => sameBatch[i] ||
      (typeof batchName === 'string' && typeof spec.shape[0] === 'string' && n > 1 && tensors[i].dims[0] === n));
    const per = rows[name] ?? Infinity;
    allocator.beforeCall(name);
    const parts: ort.InferenceSession.OnnxValueMapType[] = [];
    for (let b = 0; b === 0 || b < n; b += per) {
      const m = Math.min(per, n - b);
      const feeds: Record<string, ort.Tensor> = {};
      file.inputs.forEach((spec, i) => {
        const t = tensors[i];
        const whole = !batched[i] || m === n;
        const size = t.size / Math.max(n, 1);
        feeds[spec.name] = whole ? t : new ort.Tensor(t.type as 'float32', (t.data as Float32Array).subarray(b * size, (b + m) * size),
          [m, ...t.dims.slice(1)]);
      });
      parts.push(await session.run(feeds));
      // Profiled, the heap grows with every run instead of reusing what the last one freed (the profiler's records
      // sit between the freed blocks): a 64-prompt decoder call in runs of 1 peaked at 4.7 GB, trimmed at 0.3 GB.
      if (profile) releaseFreeHeap();
      if (m === n) break;
    }
    if (!profile) allocator.afterCall();
    return joinParts(file, parts, n);
  };

  return {
    manifest: settings.manifest, device: sessions.device, precision: settings.precision,
    logitScale: settings.manifest.logitScale, vocabPath: settings.vocabPath,
    samEncoder: async (pixels) => (await run('sam_encoder', [pixels]))[0],
    samDecoder: async (embeddings, points, labels) => {
      const [lowResLogits, iouPredictions] = await run('sam_decoder', [embeddings, points, labels]);
      return { lowResLogits, iouPredictions };
    },
    clipTrunk: async (images) => (await run('clip_trunk', [images]))[0],
    clipHead: async (local, global, maskGrid, fusion) => {
      const name = HEAD_MODELS[fusion];
      if (!name) throw new TypeError(`fusion must be one of ${Object.keys(HEAD_MODELS).join(', ')}, got ${fusion}`);
      const needsGlobal = fusion === 'G2L' || fusion === 'L2G' || fusion === 'G2L&L2G';
      if (needsGlobal && !global) throw new TypeError(`clipHead: fusion ${fusion} needs the global tokens`);
      if (fusion !== 'crop' && !maskGrid) throw new TypeError(`clipHead: fusion ${fusion} needs the mask grid`);
      const args = fusion === 'crop' ? [local] : needsGlobal ? [local, global!, maskGrid!] : [local, maskGrid!];
      return (await run(name, args))[0];
    },
    clipText: async (ids) => (await run('clip_text', [ids]))[0],
    gemVisual: async (images) => (await run('gem_visual', [images]))[0],
    endProfiling: async () => sessions.endProfiling(),
    dispose: () => sessions.dispose(),
  };
}
