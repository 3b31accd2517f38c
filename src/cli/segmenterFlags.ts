// The flags of the commands that hold a segmenter (segment, serve): the same names, checks and defaults in both.
import type { SegmenterOptions } from '../segmenter.ts';
import { UsageError } from './errors.ts';
import { modelFlags } from './modelFlags.ts';

/** parseArgs options for the segmenter's flags. */
export const SEGMENTER_FLAGS = {
  models: { type: 'string' }, fusion: { type: 'string' }, device: { type: 'string' }, precision: { type: 'string' },
  'no-guidance': { type: 'boolean' }, vocab: { type: 'string' },
  'colour-managed': { type: 'boolean' }, 'exif-orientation': { type: 'boolean' }, 'max-pixels': { type: 'string' },
} as const;

export function segmenterOptions(values: Record<string, unknown>): SegmenterOptions & { models: string } {
  if (typeof values.models !== 'string') throw new UsageError('--models DIR is required');
  const { fusion, device, precision, maxPixels } = modelFlags(values);
  return {
    models: values.models, fusion, device, precision, maxPixels,
    vocabPath: typeof values.vocab === 'string' ? values.vocab : undefined,
    guidance: !values['no-guidance'],
    decode: { colour: values['colour-managed'] ? 'managed' : 'pil', orientation: values['exif-orientation'] ? 'exif' : 'stored' },
  };
}
