// Which backend the kernels run on, per kernel family, and forcing it (HYBRIDGL_DEVICE=cpu|cuda does the same at
// start-up). On a GPU each family's CUDA twin is self-tested against its CPU version first (HYBRIDGL_SELFTEST=0
// skips it); a family that fails runs on the CPU for the life of the process.
import { native } from './native.ts';

export const KERNEL_FAMILIES = ['rle', 'mask_ops', 'mask_grid', 'gaussian_blur', 'image_prep', 'heatmap',
  'clip_inputs', 'sam_post'] as const;
export type KernelFamily = (typeof KERNEL_FAMILIES)[number];

export interface FamilyStatus {
  family: KernelFamily;
  /** Where this family's kernels run. */
  backend: 'cuda' | 'cpu';
  /** pass; mismatch or error (then routed to the CPU); skipped (HYBRIDGL_SELFTEST=0); cpu (no GPU in use). */
  result: 'pass' | 'mismatch' | 'error' | 'skipped' | 'cpu';
  /** What differed, the error, or why no GPU is in use. */
  detail?: string;
  /** Time of the family's self-test in milliseconds. */
  ms: number;
}

export interface BackendInfo {
  /** A GPU is in use (by every family that passed its self-test). */
  cuda: boolean;
  /** The CUDA kernels are compiled into this build. */
  cudaCompiled: boolean;
  /** The GPU's name, when cuda is true. */
  device?: string;
  /** Why the CPU is used, when it is. */
  reason?: string;
  families: FamilyStatus[];
}

export function backendInfo(): BackendInfo {
  return native.backendInfo();
}

/** Selects the kernel backend for this process ('cuda' throws when no GPU is usable); reruns the self-test. */
export function setDevice(device: 'cpu' | 'cuda' | 'auto'): BackendInfo {
  if (device !== 'cpu' && device !== 'cuda' && device !== 'auto') {
    throw new TypeError(`device must be 'cpu', 'cuda' or 'auto', got ${String(device)}`);
  }
  return native.setDevice(device);
}

/** A fresh self-test of every family (CUDA against CPU on a GPU, the CPU probes alone without one), for reports;
 *  the routing chosen at start-up is left as it is. */
export function selfTest(): FamilyStatus[] {
  return native.selfTest();
}

/** True when a self-test table holds a family whose CUDA twin differed from the CPU or failed. */
export function selfTestFailed(table: readonly FamilyStatus[]): boolean {
  if (!Array.isArray(table)) throw new TypeError('table must be an array of self-test rows (selfTest())');
  return table.some((r) => r.result === 'mismatch' || r.result === 'error');
}
