// Spec §2 steps 8–9 and §10: torchvision's batched_nms with one category, including its order on CPU.
import { samNms } from '../../bindings/samPost.ts';

/**
 * torchvision.ops.batched_nms(boxes, scores, zeros, iouThreshold) on CPU. Up to 1,000 boxes it is nms (kept
 * indices by descending score, ties in index order). Above, torchvision takes its "vanilla" path: the kept indices in
 * ascending order re-sorted by torch.sort(descending=True), which is not stable (**QUIRK nms-vanilla-order**): ties
 * come out in libstdc++ std::sort's order, reproduced by torchSortDescending.
 */
export function batchedNms(boxesXYXY: Float32Array, scores: Float32Array, iouThreshold: number): Int32Array {
  const keep = samNms(boxesXYXY, scores, iouThreshold);
  if (4 * scores.length <= 4000) return keep;
  const ascending = Int32Array.from(keep).sort();
  const order = torchSortDescending(Float32Array.from(ascending, (i) => scores[i]));
  return Int32Array.from(order, (k) => ascending[k]);
}

/**
 * The indices torch.sort(values, descending=True) returns on CPU (PyTorch's kernel runs libstdc++ std::sort, an
 * introsort, on (value, index) pairs compared by value only). NaN sorts first, as PyTorch's comparator has it.
 */
export function torchSortDescending(values: Float32Array): Int32Array {
  const a = new Int32Array(values.length);
  for (let i = 0; i < a.length; i++) a[i] = i;
  const less = (x: number, y: number): boolean => {
    const vx = values[x], vy = values[y];
    return (Number.isNaN(vx) && !Number.isNaN(vy)) || vx > vy;
  };
  stdSort(a, less);
  return a;
}

const THRESHOLD = 16;

function stdSort(a: Int32Array, less: (x: number, y: number) => boolean): void {
  const n = a.length;
  if (n < 2) return;
  introsortLoop(a, 0, n, 2 * (31 - Math.clz32(n)), less);
  if (n > THRESHOLD) {
    insertionSort(a, 0, THRESHOLD, less);
    for (let i = THRESHOLD; i < n; i++) unguardedLinearInsert(a, i, less);
  } else {
    insertionSort(a, 0, n, less);
  }
}

function introsortLoop(a: Int32Array, first: number, last: number, depth: number, less: (x: number, y: number) => boolean): void {
  while (last - first > THRESHOLD) {
    if (depth === 0) {
      heapSort(a, first, last, less);
      return;
    }
    depth--;
    const mid = first + Math.floor((last - first) / 2);
    moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
    const cut = unguardedPartition(a, first + 1, last, first, less);
    introsortLoop(a, cut, last, depth, less);
    last = cut;
  }
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function moveMedianToFirst(a: Int32Array, result: number, x: number, y: number, z: number, less: (p: number, q: number) => boolean): void {
  if (less(a[x], a[y])) {
    if (less(a[y], a[z])) swap(a, result, y);
    else if (less(a[x], a[z])) swap(a, result, z);
    else swap(a, result, x);
  } else if (less(a[x], a[z])) swap(a, result, x);
  else if (less(a[y], a[z])) swap(a, result, z);
  else swap(a, result, y);
}

function unguardedPartition(a: Int32Array, first: number, last: number, pivot: number, less: (x: number, y: number) => boolean): number {
  for (;;) {
    while (less(a[first], a[pivot])) first++;
    last--;
    while (less(a[pivot], a[last])) last--;
    if (!(first < last)) return first;
    swap(a, first, last);
    first++;
  }
}

function insertionSort(a: Int32Array, first: number, last: number, less: (x: number, y: number) => boolean): void {
  for (let i = first + 1; i < last; i++) {
    if (less(a[i], a[first])) {
      const v = a[i];
      a.copyWithin(first + 1, first, i);
      a[first] = v;
    } else {
      unguardedLinearInsert(a, i, less);
    }
  }
}

function unguardedLinearInsert(a: Int32Array, last: number, less: (x: number, y: number) => boolean): void {
  const v = a[last];
  let next = last - 1;
  while (less(v, a[next])) {
    a[last] = a[next];
    last = next;
    next--;
  }
  a[last] = v;
}

// std::partial_sort(first, last, last): make_heap then sort_heap.
function heapSort(a: Int32Array, first: number, last: number, less: (x: number, y: number) => boolean): void {
  const len = last - first;
  if (len >= 2) {
    for (let parent = Math.floor((len - 2) / 2); ; parent--) {
      adjustHeap(a, first, parent, len, a[first + parent], less);
      if (parent === 0) break;
    }
  }
  while (last - first > 1) {
    last--;
    const v = a[last];
    a[last] = a[first];
    adjustHeap(a, first, 0, last - first, v, less);
  }
}

function adjustHeap(a: Int32Array, first: number, hole: number, len: number, value: number, less: (x: number, y: number) => boolean): void {
  const top = hole;
  let child = hole;
  while (child < Math.floor((len - 1) / 2)) {
    child = 2 * (child + 1);
    if (less(a[first + child], a[first + child - 1])) child--;
    a[first + hole] = a[first + child];
    hole = child;
  }
  if ((len & 1) === 0 && child === Math.floor((len - 2) / 2)) {
    child = 2 * (child + 1);
    a[first + hole] = a[first + child - 1];
    hole = child - 1;
  }
  let parent = Math.trunc((hole - 1) / 2);
  while (hole > top && less(a[first + parent], value)) {
    a[first + hole] = a[first + parent];
    hole = parent;
    parent = Math.trunc((hole - 1) / 2);
  }
  a[first + hole] = value;
}
