// The transformer backbones as the pipeline sees them: plain typed arrays in and out, nothing of how they run.
// src/models/ adapts the ONNX Runtime sessions to this shape; tests may pass any implementation.

export type Fusion = 'G2L' | 'L2G' | 'G2L&L2G' | 'crop' | 'token_masking' | 'attn_masking';
export const FUSIONS: readonly Fusion[] = ['G2L', 'L2G', 'G2L&L2G', 'crop', 'token_masking', 'attn_masking'];

export interface SamDecoderOutput {
  /** [points, 3, 256, 256] low-resolution mask logits. */
  lowResLogits: Float32Array;
  /** [points, 3] predicted IoUs. */
  iouPredictions: Float32Array;
}

export interface Backbones {
  /** CLIP's logit scale (exp of the learned one): 100 for the released ViT-B/16. */
  readonly logitScale: number;
  /** [1, 3, 1024, 1024] normalised, padded image → [1, 256, 64, 64] embeddings. */
  samEncoder(pixels: Float32Array): Promise<Float32Array>;
  /** One positive point per prompt, coordinates (x, y) in the resized 1024 frame, [points, 2]. */
  samDecoder(embeddings: Float32Array, points: Float32Array, resized: [number, number]): Promise<SamDecoderOutput>;
  /**
   * Hybrid visual features [n, 512] of n proposals from their local and global images ([n, 3, 224, 224] each) and
   * their masks on the 14×14 patch grid ([n, 14, 14]).
   */
  clipVisual(local: Float32Array, global: Float32Array, maskGrid: Float32Array, n: number, fusion: Fusion): Promise<Float32Array>;
  /** Token ids [n, 77] → projected text features [n, 512]. */
  clipText(ids: Int32Array, n: number): Promise<Float32Array>;
  /** GEM: [1, 3, 448, 448] → projected patch features of the GEM path [28×28, 512] (not normalised). */
  gemVisual(pixels: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}
