// Masks at token resolution (spec §4): n×H×W binary masks → n×grid×grid floats.
import { native } from './native.ts';
import { checkInt, checkMaskBatch, checkOptions } from './validate.ts';

export interface PoolOptions {
  /**
   * 'bilinear' (default): the reference's float mask resized bilinear without antialias — point samples
   * (QUIRK aliased-pool). 'area': the exact fraction of each grid cell the mask covers.
   */
  mode?: 'bilinear' | 'area';
}

function poolArgs(masks: Uint8Array, n: number, height: number, width: number, grid: number, options: PoolOptions) {
  checkMaskBatch(masks, height, width, 'masks', n);
  checkInt(grid, 'grid', 1, 4096);
  const mode = checkOptions(options).mode ?? 'bilinear';
  if (mode !== 'bilinear' && mode !== 'area') throw new RangeError(`mode must be 'bilinear' or 'area', got ${mode}`);
  return [masks, n, height, width, grid, mode] as const;
}

/** n masks pooled to grid×grid (row-major per mask), as the reference's 14×14 mask grid by default. */
export function poolMasksToGrid(
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  grid = 14,
  options: PoolOptions = {},
): Float32Array {
  return native.poolMasksToGrid(...poolArgs(masks, n, height, width, grid, options), false);
}

/** poolMasksToGrid off the JS thread. */
export async function poolMasksToGridAsync(
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  grid = 14,
  options: PoolOptions = {},
): Promise<Float32Array> {
  return native.poolMasksToGrid(...poolArgs(masks, n, height, width, grid, options), true);
}
