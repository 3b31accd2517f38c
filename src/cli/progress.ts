// A progress line on stderr with rate and ETA, redrawn in place on a terminal and every few seconds otherwise.
import type { ImageProgress } from '../eval/evalLoop.ts';
import type { ByteProgress } from '../models/convert.ts';

/** The SAM generator's place within an image, for the progress line: `image 3/120: SAM crop 2/5, points 4160/8192, ETA 1m20s`. */
export function imageProgressText(p: ImageProgress): string {
  const { crop, crops, points, pointsTotal } = p.sam;
  const rate = p.elapsedMs > 0 ? points / p.elapsedMs : 0;
  const eta = rate > 0 ? (pointsTotal - points) / rate / 1000 : Infinity;
  return `image ${p.image}/${p.images}: SAM crop ${crop}/${crops}, points ${points}/${pointsTotal}, ETA ${formatDuration(eta)}`;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr) {
  // The first report is the baseline of the rate: its count and its time (not the time before models load).
  let start = 0, last = 0, startDone = -1;
  /** `detail`: more on where the run is, after the counts (e.g. imageProgressText). */
  return (done: number, total: number, final = false, detail?: string) => {
    const now = performance.now();
    if (startDone < 0) {
      startDone = done;
      start = now;
    }
    if (!final && !stream.isTTY && now - last < 5000) return;
    last = now;
    const secs = (now - start) / 1000;
    const rate = secs > 0 ? (done - startDone) / secs : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const pct = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
    const width = 24, filled = total > 0 ? Math.round((width * done) / total) : width;
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const text = `${label} [${bar}] ${done}/${total} ${pct}% ${formatRate(rate)} ETA ${formatDuration(eta)}${detail ? ` · ${detail}` : ''}`;
    // On a terminal the line is redrawn in place: clear what a longer line before it left.
    stream.write(stream.isTTY ? `\r${text}\x1b[K${final ? '\n' : ''}` : `${text}\n`);
  };
}

/** A bar in MB for each label that models convert and fetch report (`convert (MB) [###…] 120/375 …`). */
export function byteProgressBars(stream: NodeJS.WriteStream = process.stderr): (p: ByteProgress) => void {
  const bars = new Map<string, ReturnType<typeof createProgress>>();
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  return (p) => {
    let bar = bars.get(p.label);
    if (!bar) bars.set(p.label, (bar = createProgress(`${p.label} (MB)`, stream)));
    bar(mb(p.doneBytes), mb(p.totalBytes), p.final);
    if (p.final) bars.delete(p.label);
  };
}

/** Items a second, or a minute or an hour where fewer than one a second or a minute come (a vit_h eval on a CPU
 *  scores a sentence or two a minute: `0.00/s` would say nothing). */
export function formatRate(perSecond: number): string {
  if (!(perSecond > 0)) return '--/s';
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  if (perSecond * 60 >= 1) return `${(perSecond * 60).toFixed(1)}/min`;
  return `${(perSecond * 3600).toFixed(1)}/h`;
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '--';
  const s = Math.round(secs), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
