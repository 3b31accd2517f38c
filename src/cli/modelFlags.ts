// The flags that choose the models and the image limit (segment, serve, eval, bench): checked in one place, each a
// usage error naming the flag. Absent flags stay undefined, so the library's defaults apply.
import { HEAD_MODELS, PRECISIONS, type Fusion, type Precision } from '../models/loadModels.ts';
import { parseMaxPixels } from '../pipeline/imageBudget.ts';
import { UsageError } from './errors.ts';

export type Device = 'auto' | 'cpu' | 'cuda';

export const FUSIONS = Object.keys(HEAD_MODELS) as readonly Fusion[];
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];
export { PRECISIONS };

export interface ModelFlags {
  fusion?: Fusion;
  device?: Device;
  precision?: Precision;
  maxPixels?: number;
}

function oneOf<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[]): T | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}${typeof v === 'string' ? ` (got '${v}')` : ''}`);
  }
  return v as T;
}

/** --fusion, --device, --precision and --max-pixels N|inf from parsed arguments. */
export function modelFlags(values: Record<string, unknown>): ModelFlags {
  const flags: ModelFlags = {
    fusion: oneOf(values, 'fusion', FUSIONS),
    device: oneOf(values, 'device', DEVICES),
    precision: oneOf(values, 'precision', PRECISIONS),
  };
  const maxPixels = values['max-pixels'];
  if (maxPixels !== undefined) {
    try {
      flags.maxPixels = parseMaxPixels(String(maxPixels));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return flags;
}
