// Spec §2, §4, §5, §8: the models' names, the manifest's shape and the Models API that loadModels returns.
export type Fusion = 'G2L' | 'L2G' | 'G2L&L2G' | 'token_masking' | 'attn_masking' | 'crop';
/** fp32: as the reference (the default); fp16: for CUDA; int8: for CPUs with AVX-512 VNNI or AMX, where a model
 *  has an int8 graph (the CLIP trunk and heads), fp32 for the others. */
export const PRECISIONS = ['fp32', 'fp16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];
export type ModelName =
  | 'sam_encoder' | 'sam_decoder' | 'clip_trunk' | 'clip_text' | 'gem_visual'
  | 'clip_head_g2l' | 'clip_head_l2g' | 'clip_head_g2l_l2g' | 'clip_head_token_masking'
  | 'clip_head_attn_masking' | 'clip_head_crop';

/** A dense row-major tensor. */
export interface FloatTensor { data: Float32Array; dims: readonly number[] }
export interface IdTensor { data: Int32Array | BigInt64Array; dims: readonly number[] }

export interface TensorSpec { name: string; dtype: 'float32' | 'int64'; shape: Array<number | string> }
export interface ManifestFile {
  name: string; model: ModelName; precision: Precision; sha256: string; bytes: number;
  inputs: TensorSpec[]; outputs: TensorSpec[]; fusion?: Fusion;
  /** The graph's tensors, as ONNX external data in this file beside it (graphs past protobuf's 2 GiB). */
  externalData?: { name: string; sha256: string; bytes: number };
  /** `models convert`: how many float initializers it wrote from the checkpoint, and how many are the template's
   *  proven constants. */
  initializers?: { checkpoint: number; constants: number };
}
export interface Manifest {
  format: 'hybridgl-models'; formatVersion: 1;
  /** templateFormat: `models convert`'s graph-template format (models/hybridgl_export/templates.py). */
  exporter: { name: string; version: string; torch: string; opset: number; command: string; templateFormat?: number };
  sources: Record<'sam' | 'clip', { checkpoint: string | null; sha256: string }>;
  config: { sam: Record<string, unknown>; clip: Record<string, unknown> };
  logitScale: number;
  vocab: { file: string; present: boolean; sha256?: string };
  files: ManifestFile[];
}

export interface Models {
  manifest: Manifest;
  device: 'cpu' | 'cuda';
  precision: Precision;
  /** CLIP's logit scale (exp of the checkpoint's logit_scale; 100 for the released weights). */
  logitScale: number;
  /** The tokenizer vocabulary file, or null when neither the directory nor options.vocabPath has one. */
  vocabPath: string | null;
  /** Normalised, zero-padded pixels [B,3,1024,1024] → image embeddings [B,C,64,64]. */
  samEncoder(pixels: FloatTensor): Promise<FloatTensor>;
  /** Embeddings [1,C,64,64], points [B,P,2] in the 1024 frame, labels [B,P] (1 fg, 0 bg, −1 none) →
   *  multimask low-res logits [B,3,256,256] and predicted IoUs [B,3]. */
  samDecoder(embeddings: FloatTensor, points: FloatTensor, labels: FloatTensor):
    Promise<{ lowResLogits: FloatTensor; iouPredictions: FloatTensor }>;
  /** Images [B,3,224,224] → tokens after the trunk blocks [B,197,D] (run local and global images together). */
  clipTrunk(images: FloatTensor): Promise<FloatTensor>;
  /** Hybrid features [N,E]. G2L, L2G, G2L&L2G need local, global [N,197,D] and the mask grid [N,14,14];
   *  token_masking and attn_masking use local (batch N or 1) and the grid; crop uses local only. */
  clipHead(local: FloatTensor, global: FloatTensor | null, maskGrid: FloatTensor | null, fusion: Fusion):
    Promise<FloatTensor>;
  /** Token ids [B,77] → projected text features [B,E]. */
  clipText(ids: IdTensor): Promise<FloatTensor>;
  /** CLIP-normalised images [B,3,448,448] → L2-normalised GEM patch features [B,784,E]. */
  gemVisual(images: FloatTensor): Promise<FloatTensor>;
  /** With `profile`: ends every created session's profile and returns the JSON files ONNX Runtime wrote. */
  /** `readyAt`: when the session's creation returned (performance.now() ms), the end of the profile's
   *  session_initialization event, to put the profile on the process's clock. */
  endProfiling(): Promise<Array<{ model: ModelName; path: string; readyAt: number }>>;
  dispose(): Promise<void>;
}

export const HEAD_MODELS: Record<Fusion, ModelName> = {
  G2L: 'clip_head_g2l', L2G: 'clip_head_l2g', 'G2L&L2G': 'clip_head_g2l_l2g',
  token_masking: 'clip_head_token_masking', attn_masking: 'clip_head_attn_masking', crop: 'clip_head_crop',
};
