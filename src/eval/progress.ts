// A progress line on stderr with rate and ETA, redrawn in place on a terminal and every few seconds otherwise.

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const start = performance.now();
  let last = 0, startDone = -1;
  return (done: number, total: number, final = false) => {
    const now = performance.now();
    if (startDone < 0) startDone = done;
    if (!final && !stream.isTTY && now - last < 5000) return;
    last = now;
    const secs = (now - start) / 1000;
    const rate = secs > 0 ? (done - startDone) / secs : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const pct = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
    const width = 24, filled = total > 0 ? Math.round((width * done) / total) : width;
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const text = `${label} [${bar}] ${done}/${total} ${pct}% ${rate.toFixed(2)}/s ETA ${formatDuration(eta)}`;
    stream.write(stream.isTTY ? `\r${text}${final ? '\n' : ''}` : `${text}\n`);
  };
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '--';
  const s = Math.round(secs), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
