import { describe, expect, it } from 'vitest';

import { UsageError } from '../src/cli/errors.ts';
import { FUSIONS, modelFlags } from '../src/cli/modelFlags.ts';
import { segmenterOptions } from '../src/cli/segmenterFlags.ts';
import { HEAD_MODELS } from '../src/models/loadModels.ts';
import { DEFAULT_MAX_PIXELS } from '../src/pipeline/imageBudget.ts';

describe('modelFlags', () => {
  it('leaves absent flags undefined, so the library defaults apply', () => {
    expect(modelFlags({})).toEqual({ fusion: undefined, device: undefined, precision: undefined });
    expect(modelFlags({ fusion: 'L2G', device: 'cpu', precision: 'fp16', 'max-pixels': 'inf' }))
      .toEqual({ fusion: 'L2G', device: 'cpu', precision: 'fp16', maxPixels: Infinity });
    expect(FUSIONS).toEqual(Object.keys(HEAD_MODELS));
  });

  it('refuses a value outside its list as a usage error naming the flag and the value', () => {
    for (const [values, message] of [
      [{ fusion: 'G3L' }, /^--fusion must be one of G2L, L2G, .* \(got 'G3L'\)$/],
      [{ device: 'tpu' }, /^--device must be one of auto, cpu, cuda \(got 'tpu'\)$/],
      [{ precision: 'fp8' }, /^--precision must be one of fp32, fp16, int8 \(got 'fp8'\)$/],
      [{ precision: true }, /^--precision must be one of fp32, fp16, int8$/],
      [{ 'max-pixels': '2.5' }, /--max-pixels must be a positive integer/],
      [{ 'max-pixels': '0' }, /--max-pixels must be a positive integer/],
    ] as const) {
      expect(() => modelFlags(values)).toThrow(UsageError);
      expect(() => modelFlags(values)).toThrow(message);
    }
  });
});

describe('segmenterOptions', () => {
  it('needs --models and maps the decode and guidance switches', () => {
    expect(() => segmenterOptions({})).toThrow(/--models DIR is required/);
    expect(segmenterOptions({ models: 'm' })).toMatchObject({
      models: 'm', guidance: true, decode: { colour: 'pil', orientation: 'stored' }, maxPixels: undefined,
    });
    expect(segmenterOptions({ models: 'm', 'no-guidance': true, 'colour-managed': true, 'exif-orientation': true, 'max-pixels': String(DEFAULT_MAX_PIXELS) }))
      .toMatchObject({ guidance: false, decode: { colour: 'managed', orientation: 'exif' }, maxPixels: DEFAULT_MAX_PIXELS });
  });
});
