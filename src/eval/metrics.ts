// Spec §0 (metrics: I/U, oIoU, mIoU, precision) and §7 (QUIRK sticky-k, the eval loop's shrinking top-k).

/** Intersection and union pixel counts of one prediction against its ground truth. */
export interface IoUCounts {
  intersection: number;
  union: number;
}

export interface MetricSummary {
  sentences: number;
  /** ΣI / ΣU × 100 over all sentences. */
  oIoU: number;
  /** mean of the per-sentence IoU × 100 (IoU = 0 where U = 0). */
  mIoU: number;
  /** percentage of sentences with IoU ≥ t, for t = 0.5 … 0.9 (keys "0.5" … "0.9"). */
  precision: Record<string, number>;
  /** the exact sums ΣI and ΣU. */
  intersection: number;
  union: number;
}

export const PRECISION_THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9] as const;

/** I = |pred ∧ gt|, U = |pred ∨ gt| of two row-major masks of equal size (non-zero = set). */
export function iouCounts(pred: Uint8Array, gt: Uint8Array): IoUCounts {
  if (pred.length !== gt.length)
    throw new RangeError(`iouCounts: pred has ${pred.length} pixels but gt has ${gt.length}`);
  let intersection = 0, union = 0;
  for (let p = 0; p < pred.length; p++) {
    const a = pred[p] !== 0, b = gt[p] !== 0;
    intersection += +(a && b);
    union += +(a || b);
  }
  return { intersection, union };
}

/** IoU of one sentence as the reference defines it: I/U, and 0 when U = 0. */
export function iouOf(c: IoUCounts): number {
  return c.union === 0 ? 0 : c.intersection / c.union;
}

function checkCounts(c: IoUCounts, what: string): void {
  const { intersection: i, union: u } = c;
  if (!Number.isSafeInteger(i) || !Number.isSafeInteger(u) || i < 0 || u < i)
    throw new RangeError(`${what}: counts must be integers with 0 ≤ intersection ≤ union (got ${i}, ${u})`);
}

/** Accumulates sentences exactly: ΣI and ΣU as 64-bit integers (BigInt), IoUs summed in the order added. */
export class IoUAccumulator {
  private sumI = 0n;
  private sumU = 0n;
  private sumIoU = 0;
  private count = 0;
  private readonly atLeast = PRECISION_THRESHOLDS.map(() => 0);

  add(c: IoUCounts): this {
    checkCounts(c, 'IoUAccumulator.add');
    this.sumI += BigInt(c.intersection);
    this.sumU += BigInt(c.union);
    const iou = iouOf(c);
    this.sumIoU += iou;
    PRECISION_THRESHOLDS.forEach((t, k) => (this.atLeast[k] += +(iou >= t)));
    this.count++;
    return this;
  }

  summary(): MetricSummary {
    const n = this.count;
    const exact = (v: bigint, name: string) => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`IoUAccumulator: ${name} exceeds 2^53`);
      return Number(v);
    };
    const intersection = exact(this.sumI, 'ΣI'), union = exact(this.sumU, 'ΣU');
    return {
      sentences: n,
      oIoU: union === 0 ? 0 : (intersection * 100) / union,
      mIoU: n === 0 ? 0 : (this.sumIoU / n) * 100,
      precision: Object.fromEntries(
        PRECISION_THRESHOLDS.map((t, k) => [t.toFixed(1), n === 0 ? 0 : (this.atLeast[k] * 100) / n]),
      ),
      intersection,
      union,
    };
  }
}

/** Metrics of a list of sentences' counts (in the given order). */
export function summarize(counts: Iterable<IoUCounts>): MetricSummary {
  const acc = new IoUAccumulator();
  for (const c of counts) acc.add(c);
  return acc.summary();
}

export interface StickyKOptions {
  /** QUIRK sticky-k (default true): once an image has fewer proposals than k, k stays lowered for the rest of
   *  the run, as the reference's eval loop does. false: k = min(k, N) afresh for every image. */
  sticky?: boolean;
  k1?: number;
  k2?: number;
}

/** The top-k sizes of spatial guidance (§7) for a run: call it with each sentence's proposal count N. */
export function createStickyK(options: StickyKOptions = {}): (proposals: number) => { k1: number; k2: number } {
  const sticky = options.sticky ?? true;
  if (typeof sticky !== 'boolean') throw new TypeError(`createStickyK: sticky must be true or false, got ${typeof sticky}`);
  let k1 = options.k1 ?? 3, k2 = options.k2 ?? 6;
  for (const [name, v] of [['k1', k1], ['k2', k2]] as const)
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`createStickyK: ${name} must be a positive integer`);
  return (proposals: number) => {
    // With no proposal there is nothing to rank (the reference crashes there); such an image must not lower k.
    if (!Number.isInteger(proposals) || proposals < 1)
      throw new RangeError(`stickyK: proposals must be a positive integer (got ${proposals})`);
    const now = { k1: Math.min(k1, proposals), k2: Math.min(k2, proposals) };
    if (sticky) ({ k1, k2 } = now);
    return now;
  };
}

/** The (k1, k2) pairs that sticky-k can give a sentence whose image has `proposals` proposals, whatever ran
 *  before it: k1 = min(3, m), k2 = min(6, m) for m = 1 … min(N, 6). Scoring all of them (guided scoring is cheap)
 *  lets a run in any order, or in shards, reproduce the reference's sequential k afterwards (stickyKInOrder). */
export function stickyKVariants(proposals: number, k1 = 3, k2 = 6): Array<{ k1: number; k2: number }> {
  for (const [name, v] of [['proposals', proposals], ['k1', k1], ['k2', k2]] as const)
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`stickyKVariants: ${name} must be a positive integer, got ${v}`);
  const out: Array<{ k1: number; k2: number }> = [];
  for (let m = 1; m <= Math.min(proposals, Math.max(k1, k2)); m++) out.push({ k1: Math.min(k1, m), k2: Math.min(k2, m) });
  return out;
}

/** The k each item gets in the reference's sequential loop (QUIRK sticky-k): items are taken in ascending
 *  `order` (the ref's position in the split); the result is in the input's order. */
export function stickyKInOrder(items: Array<{ order: number; proposals: number }>, options: StickyKOptions = {}): Array<{ k1: number; k2: number }> {
  const next = createStickyK(options);
  const out = new Array<{ k1: number; k2: number }>(items.length);
  const idx = items.map((_, i) => i).sort((a, b) => items[a].order - items[b].order || a - b);
  for (const i of idx) out[i] = next(items[i].proposals);
  return out;
}
