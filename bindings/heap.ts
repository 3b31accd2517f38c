// The process heap: memory the C library keeps after free() handed back to the system (glibc's malloc_trim), and
// the size from which it maps blocks on their own (glibc's mmap threshold).
import { native } from './native.ts';

/** glibc's ceiling for the mmap threshold (half its largest heap on 64-bit systems), and where its own moving
 *  threshold settles once large blocks have been freed. */
export const MAX_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024;

/** Returns free heap memory to the system; false where the C library cannot (then nothing was done). */
export function releaseFreeHeap(): boolean {
  return native.releaseFreeHeap();
}

/** Maps every later block of `bytes` or more on its own, unmapped at free (an integer in [0, 32 MiB]); glibc then
 *  stops moving the threshold itself. False where the C library cannot (then nothing was done). */
export function setMmapThreshold(bytes: number): boolean {
  return native.setMmapThreshold(bytes);
}
