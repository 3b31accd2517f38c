// Which backend the kernels run on, per kernel family, and forcing it (HYBRIDGL_DEVICE=cpu|cuda does the same at
// start-up). On a GPU each family's CUDA twin is self-tested against its CPU version first (HYBRIDGL_SELFTEST=0
// skips it); a family that fails runs on the CPU for the life of the process.
import type { BackendInfo, FamilyStatus } from './addon.ts';
import { native } from './native.ts';

export { KERNEL_FAMILIES, type BackendInfo, type FamilyStatus, type KernelFamily } from './addon.ts';

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
