// hybridgl: the public API.
export { backendInfo, setDevice } from '../bindings/backend.ts';
export type { BackendInfo } from '../bindings/backend.ts';
export { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../bindings/maskOps.ts';
export type { MaskIoUResult, MaskBoxes } from '../bindings/maskOps.ts';

// Text: CLIP tokenizer, expression parser, text features (spec §5–§6).
export { createClipTokenizer, CLIP_CONTEXT_LENGTH } from './text/clipTokenizer.ts';
export type { ClipTokenizer, ClipTokenizerOptions, TokenizedBatch } from './text/clipTokenizer.ts';
export { parseExpression, RELATION_WORDS, NULL_KEYWORDS } from './text/parseExpression.ts';
export type { ParsedExpression, ParsedToken, ParseOptions, Position, Relation } from './text/parseExpression.ts';
export { createTextFeaturizer } from './text/textFeatures.ts';
export type { EncodeText, ExpressionTextFeatures, TextFeaturizer, TextFeaturizerOptions } from './text/textFeatures.ts';
