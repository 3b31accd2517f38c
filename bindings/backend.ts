// Which backend the kernels run on, and forcing it (HYBRIDGL_DEVICE=cpu|cuda does the same at start-up).
import { native } from './native.ts';

export interface BackendInfo {
  /** Kernels run on a GPU. */
  cuda: boolean;
  /** The CUDA kernels are compiled into this build. */
  cudaCompiled: boolean;
  /** The GPU's name, when cuda is true. */
  device?: string;
  /** Why the CPU is used, when it is. */
  reason?: string;
}

export function backendInfo(): BackendInfo {
  return native.backendInfo();
}

/** Selects the kernel backend for this process; 'cuda' throws when no GPU is usable. */
export function setDevice(device: 'cpu' | 'cuda' | 'auto'): BackendInfo {
  if (device !== 'cpu' && device !== 'cuda' && device !== 'auto') {
    throw new TypeError(`device must be 'cpu', 'cuda' or 'auto', got ${String(device)}`);
  }
  return native.setDevice(device);
}
