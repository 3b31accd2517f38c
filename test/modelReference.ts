// Reference cases written by models/export.py --reference (reference.json + reference.bin): regenerates their
// fixed inputs, runs them through the loaded models and measures the relative error per output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FloatTensor, Models } from '../src/models/loadModels.ts';

export interface InputSpec {
  pattern?: number; maskPattern?: number; levels?: number; shape?: number[];
  values?: unknown[]; output_of?: string; rows?: [number, number];
}
export interface ReferenceCase {
  model: string;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, { offset: number; shape: number[] }>;
}
export interface Reference { cases: ReferenceCase[]; data: Float32Array }

export function loadReference(dir: string): Reference {
  const { cases } = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as { cases: ReferenceCase[] };
  return { cases, data: new Float32Array(new Uint8Array(readFileSync(join(dir, 'reference.bin'))).buffer) };
}

/** k_i = (i·7919 + seed·104729) mod 2001, as models/hybridgl_export/reference_io.py. */
const patternIndex = (i: number, seed: number) => (i * 7919 + seed * 104729) % 2001;

export function referenceOutput(ref: Reference, c: ReferenceCase, name: string): FloatTensor {
  const { offset, shape } = c.outputs[name];
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: ref.data.subarray(offset, offset + n), dims: shape };
}

export function referenceInput(ref: Reference, spec: InputSpec): FloatTensor {
  if (spec.values) {
    const dims: number[] = [];
    for (let v: unknown = spec.values; Array.isArray(v); v = v[0]) dims.push(v.length);
    return { data: Float32Array.from((spec.values as unknown[]).flat(3) as number[]), dims };
  }
  if (spec.output_of) {
    const c = ref.cases.find((x) => x.model === spec.output_of)!;
    const full = referenceOutput(ref, c, Object.keys(c.outputs)[0]);
    const row = full.dims.slice(1).reduce((a, b) => a * b, 1);
    const [a, b] = spec.rows!;
    return { data: full.data.slice(a * row, b * row), dims: [b - a, ...full.dims.slice(1)] };
  }
  const shape = spec.shape!;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (spec.maskPattern !== undefined)
    for (let i = 0; i < data.length; i++) data[i] = (patternIndex(i, spec.maskPattern) % spec.levels!) / (spec.levels! - 1);
  else for (let i = 0; i < data.length; i++) data[i] = (patternIndex(i, spec.pattern!) - 1000) / 1000;
  return { data, dims: shape };
}

/** max |a − b| / max |b| (Infinity when the shapes differ). */
export function relativeError(got: FloatTensor, want: FloatTensor): number {
  if (got.dims.join() !== want.dims.join()) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < want.data.length; i++) {
    diff = Math.max(diff, Math.abs(got.data[i] - want.data[i]));
    scale = Math.max(scale, Math.abs(want.data[i]));
  }
  return diff / scale;
}

/** Runs one case; returns its outputs by the names reference.json uses. */
export async function runReferenceCase(models: Models, ref: Reference, c: ReferenceCase):
  Promise<Record<string, FloatTensor>> {
  const inp = (name: string) => referenceInput(ref, c.inputs[name]);
  switch (c.model) {
    case 'sam_encoder': return { embeddings: await models.samEncoder(inp('pixels')) };
    case 'sam_decoder': {
      const r = await models.samDecoder(inp('embeddings'), inp('points'), inp('labels'));
      return { low_res_logits: r.lowResLogits, iou_predictions: r.iouPredictions };
    }
    case 'clip_trunk': return { tokens: await models.clipTrunk(inp('images')) };
    case 'clip_text': {
      const ids = c.inputs.ids.values as number[][];
      return { features: await models.clipText({ data: Int32Array.from(ids.flat()), dims: [ids.length, ids[0].length] }) };
    }
    case 'gem_visual': return { patch_features: await models.gemVisual(inp('images')) };
    default: {
      const fusion = models.manifest.files.find((f) => f.model === c.model)!.fusion!;
      const local = c.inputs.local ? inp('local') : inp('tokens');
      const global = c.inputs.global ? inp('global') : null;
      const grid = c.inputs.mask_grid ? inp('mask_grid') : null;
      return { features: await models.clipHead(local, global, grid, fusion) };
    }
  }
}

/** Every output's relative error, as [model, output, error] rows. */
export async function referenceErrors(models: Models, ref: Reference): Promise<Array<[string, string, number]>> {
  const rows: Array<[string, string, number]> = [];
  for (const c of ref.cases) {
    const got = await runReferenceCase(models, ref, c);
    for (const name of Object.keys(c.outputs))
      rows.push([c.model, name, relativeError(got[name], referenceOutput(ref, c, name))]);
  }
  return rows;
}
