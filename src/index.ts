// hybridgl: the public API.
export { backendInfo, KERNEL_FAMILIES, selfTest, selfTestFailed, setDevice } from '../bindings/backend.ts';
export type { BackendInfo, FamilyStatus, KernelFamily } from '../bindings/backend.ts';
export { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../bindings/maskOps.ts';
export type { MaskIoUResult, MaskBoxes } from '../bindings/maskOps.ts';
// Image preparation (Pillow-exact resize, normalisation)
export { normalizeImage, resizeImage, resizeImageAsync } from '../bindings/imagePrep.ts';
export type { ImageResizeOptions, NormalizeOptions, ResizeFilter } from '../bindings/imagePrep.ts';
// COCO RLE (pycocotools 2.0.8).
export {
  rleArea,
  rleAreaBatch,
  rleDecode,
  rleDecodeBatch,
  rleDecodeBatchAsync,
  rleEncode,
  rleEncodeBatch,
  rleEncodeBatchAsync,
  rleFromBoxes,
  rleFromCounts,
  rleFromPolygons,
  rleFromPolygonsAsync,
  rleIoU,
  rleIoUAsync,
  rleMerge,
  rleToBbox,
  rleToBboxBatch,
  rleToCounts,
} from '../bindings/rle.ts';
export type { Rle } from '../bindings/rle.ts';
// Per-pixel kernels: blur, CLIP inputs, mask grid, heatmap scores (spec §3, §4, §7–§8).
export { gaussianBlur, gaussianBlurAsync } from '../bindings/gaussianBlur.ts';
export { buildClipInputs, buildClipInputsAsync } from '../bindings/clipInputs.ts';
export type { ClipInputs, ClipInputsOptions } from '../bindings/clipInputs.ts';
export { poolMasksToGrid, poolMasksToGridAsync } from '../bindings/maskGrid.ts';
export type { PoolOptions } from '../bindings/maskGrid.ts';
export {
  applyPriorAndMean,
  coherenceMap,
  coherenceWeight,
  heatmapMaskScores,
  heatmapMaskScoresAsync,
  minMaxNormalize,
  positionPrior,
  resizeMap,
  resizeMapAsync,
} from '../bindings/heatmap.ts';
export type { HeatmapScoreOptions, HeatmapScores, PositionFlag, ResizeOptions } from '../bindings/heatmap.ts';
// SAM automatic-mask-generator post-processing (spec §2).
export {
  postprocessSamMasks,
  postprocessSamMasksAsync,
  samPointGrid,
  samResizeShape,
  samTransformCoords,
  samUpscaleLogits,
  samNms,
  samRemoveSmallRegions,
} from '../bindings/samPost.ts';
export type { SamPostInput, SamPostOptions, SamPostResult } from '../bindings/samPost.ts';

// Text: CLIP tokenizer, expression parser, text features (spec §5–§6).
export { createClipTokenizer, CLIP_CONTEXT_LENGTH } from './text/clipTokenizer.ts';
export type { ClipTokenizer, ClipTokenizerOptions, TokenizedBatch } from './text/clipTokenizer.ts';
export { parseExpression, RELATION_WORDS, NULL_KEYWORDS } from './text/parseExpression.ts';
export type { ParsedExpression, ParsedToken, ParseOptions, Position, Relation } from './text/parseExpression.ts';
export { createTextFeaturizer } from './text/textFeatures.ts';
export type { EncodeText, ExpressionTextFeatures, TextFeaturizer, TextFeaturizerOptions } from './text/textFeatures.ts';

// Evaluation data and metrics (spec §0, §7 sticky-k).
export { readPickle, writePickle, PickleError } from './data/pickle.ts';
export type { PickleValue, PickleWritable, ReadPickleOptions } from './data/pickle.ts';
export { ReferDataset, REFER_DATASETS, inReferSplit } from './data/refer.ts';
export type { CocoAnnotation, CocoImage, CocoRle, ReferItem, ReferImageGroup, ReferRef, ReferSentence } from './data/refer.ts';
export { annotationMask, combinePartMasks, decodeUncompressedRle } from './data/gtMask.ts';
export type { GtMaskOptions } from './data/gtMask.ts';
export { PhraseCutDataset, phraseCutGtMask } from './data/phraseCut.ts';
export type { PhraseCutImage, PhraseCutImageGroup, PhraseCutTask } from './data/phraseCut.ts';
export { createStickyK, iouCounts, IoUAccumulator, PRECISION_THRESHOLDS, stickyKInOrder, stickyKVariants, summarize } from './eval/metrics.ts';
export type { IoUCounts, MetricSummary } from './eval/metrics.ts';
export { mergeRuns, readRun, ResultStore, summarizeResults } from './eval/store.ts';
export type { PredictionRecord, RunSummary, SentenceResult } from './eval/store.ts';
export { inShard, parseShard, type Shard } from './eval/shard.ts';
export { overlayPng, pickExamples, reportHtml, reportMarkdown } from './eval/report.ts';
export type { ReportExample, ReportInput, ReportSection } from './eval/report.ts';
export { writeSynthRefer } from './eval/synthRefer.ts';

// The whole method (spec §0–§8): segmenter, stages, rendering, evaluation loop.
export { createSegmenter, SegmentError } from './segmenter.ts';
export type {
  Candidate, ExpressionInput, ExpressionResult, PreparedImage, SegmentOptions, SegmentResult, Segmenter, SegmenterOptions, LocalImage,
} from './segmenter.ts';
export { loadImage } from './pipeline/image.ts';
export type { DecodeOptions, ImageInput } from './pipeline/image.ts';
export { prepareGemInput, prepareImageNetImage, prepareSamInput } from './pipeline/preprocess.ts';
export type { RgbImage } from './pipeline/preprocess.ts';
export { generateProposals } from './pipeline/proposals.ts';
export { computeHybridFeatures } from './pipeline/hybridFeatures.ts';
export { phraseCutLocalSource } from './pipeline/phraseCutLocal.ts';
export { argmax, clipScores, softmax, topK } from './pipeline/clipScores.ts';
export { relationGuidance, relationTerm } from './pipeline/relationGuidance.ts';
export { coherenceScores, gemHeatmap } from './pipeline/coherenceGuidance.ts';
export { selectGuided } from './pipeline/selection.ts';
export { scoreExpression } from './pipeline/expressionScores.ts';
export type { ExpressionScores, ProposalScores, ScoredExpression, ScoredImage, ScoringSettings } from './pipeline/expressionScores.ts';
export { renderContactSheet, renderOverlay, tintMask } from './render/overlay.ts';
export { runEval } from './eval/evaluate.ts';
export { resultJson } from './resultJson.ts';
export type { CandidateJson, ExpressionResultJson } from './resultJson.ts';
// The HTTP service (hybridgl serve) around a segmenter.
export { createService } from './serve/server.ts';
export { createLocalEngine } from './serve/engine.ts';
export { startWorkerEngine } from './serve/workerEngine.ts';
export type { EngineAnswer, EngineJob, SegmentEngine } from './serve/engine.ts';
export type { SegmentResponse, ServerOptions, Service } from './serve/server.ts';
// Models (ONNX backbones through onnxruntime-node)
export { loadModels, ModelLoadError, HEAD_MODELS, cudaProviderInstalled } from './models/loadModels.ts';
export { commandAllocatorTuning } from './models/allocatorTuning.ts';
export type {
  AllocatorTuning, Models, LoadModelsOptions, Manifest, ManifestFile, FloatTensor, IdTensor, Fusion, Precision, ModelName,
} from './models/loadModels.ts';
// SAM's full generator (crops, batches), PhraseCut eval and scale-out
export { AMG_DEFAULTS, generateAmgMasks, modelCropOpener, PHRASECUT_AMG, samCropBoxes } from './pipeline/samCrops.ts';
export type { AmgOptions, AmgResult, CropBox, DecodedBatch, OpenCrop } from './pipeline/samCrops.ts';
export { batchedNms, torchSortDescending } from './pipeline/batchedNms.ts';
export { runPhraseCutEval, phraseCutGroups } from './eval/phraseCutEval.ts';
export { writeSynthPhraseCut } from './eval/synthPhraseCut.ts';
export { autoShard, SHARD_COUNT_ENV } from './eval/shardAuto.ts';
export { runWorkers, workerShard } from './eval/workers.ts';
export { groupRuns, type DatasetTable } from './eval/reportTables.ts';
