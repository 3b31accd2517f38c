// The process heap: memory the C library keeps after free() handed back to the system (glibc's malloc_trim).
import { native } from './native.ts';

/** Returns free heap memory to the system; false where the C library cannot (then nothing was done). */
export function releaseFreeHeap(): boolean {
  return native.releaseFreeHeap();
}
