// Spec §0: the report's paper-style tables — runs grouped by dataset, split and fusion; one table per dataset.
import { PRECISION_THRESHOLDS, type MetricSummary } from './metrics.ts';
import { resultKey, summarizeResults, type ResultLine } from './store.ts';

export interface DatasetTable {
  dataset: string;
  /** in the paper's order (val, testA, testB, test), others after, alphabetically. */
  splits: string[];
  fusions: string[];
  /** cell[split][fusion]: the pooled runs' summary (results deduplicated by ref and sentence). */
  cells: Record<string, Record<string, { sentences: number; hybrid: MetricSummary; guided: MetricSummary; runs: number }>>;
}

const DATASET_ORDER = ['refcoco', 'refcoco+', 'refcocog', 'phrasecut'];
const SPLIT_ORDER = ['val', 'testA', 'testB', 'test'];
const RESULTS = [['hybrid', 'pure HybridGL'], ['guided', 'w/ spatial guidance']] as const;

const byOrder = (order: string[]) => (a: string, b: string) => {
  const ia = order.indexOf(a), ib = order.indexOf(b);
  return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
};

/**
 * Groups runs by (dataset, split, fusion); runs of the same group (e.g. unmerged shards) are pooled, a sentence
 * present in several of them counted once.
 */
export function groupRuns(runs: Array<{ meta: Record<string, unknown>; results: ResultLine[] }>): DatasetTable[] {
  const groups = new Map<string, { dataset: string; split: string; fusion: string; results: Map<string, ResultLine>; runs: number }>();
  for (const r of runs) {
    const dataset = String(r.meta.dataset ?? '?'), split = String(r.meta.split ?? '?');
    // Runs with a changed SAM generator (e.g. a smaller PhraseCut grid) are not the paper's setting: own column.
    const sam = r.meta.sam && typeof r.meta.sam === 'object'
      ? ` (SAM ${Object.entries(r.meta.sam).map(([k, v]) => `${k} ${String(v)}`).join(', ')})` : '';
    // … and so are runs on another SAM than the paper's vit_h.
    const config = r.meta.configuration as { samType?: unknown } | undefined;
    const samType = typeof config?.samType === 'string' && config.samType !== 'vit_h' ? ` (SAM ${config.samType})` : '';
    const fusion = String(r.meta.fusion ?? 'G2L') + samType + sam;
    const key = JSON.stringify([dataset, split, fusion]);
    const g = groups.get(key) ?? { dataset, split, fusion, results: new Map(), runs: 0 };
    for (const line of r.results) g.results.set(resultKey(line), line);
    g.runs++;
    groups.set(key, g);
  }
  const tables = new Map<string, DatasetTable>();
  for (const g of groups.values()) {
    const t = tables.get(g.dataset) ?? { dataset: g.dataset, splits: [], fusions: [], cells: {} };
    if (!t.splits.includes(g.split)) t.splits.push(g.split);
    if (!t.fusions.includes(g.fusion)) t.fusions.push(g.fusion);
    const s = summarizeResults([...g.results.values()]);
    (t.cells[g.split] ??= {})[g.fusion] = { sentences: s.sentences, hybrid: s.hybrid, guided: s.guided, runs: g.runs };
    tables.set(g.dataset, t);
  }
  return [...tables.values()]
    .map((t) => ({ ...t, splits: t.splits.sort(byOrder(SPLIT_ORDER)), fusions: t.fusions.sort(byOrder(['G2L'])) }))
    .sort((a, b) => byOrder(DATASET_ORDER)(a.dataset, b.dataset));
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(2));

/** The tables as rows of cells: [header rows…, body rows…] for the main (oIoU / mIoU per split) and P@ tables. */
export function tableRows(t: DatasetTable): { main: string[][]; precision: string[][] } {
  const main = [['result', 'fusion', ...t.splits.flatMap((s) => [`${s} oIoU`, `${s} mIoU`])]];
  const precision = [['split', 'fusion', 'result', 'sentences', ...PRECISION_THRESHOLDS.map((p) => `P@${p.toFixed(1)}`)]];
  for (const [key, name] of RESULTS)
    for (const f of t.fusions)
      main.push([name, f, ...t.splits.flatMap((s) => {
        const c = t.cells[s]?.[f];
        return [fmt(c?.[key].oIoU), fmt(c?.[key].mIoU)];
      })]);
  for (const s of t.splits)
    for (const f of t.fusions) {
      const c = t.cells[s]?.[f];
      if (!c) continue;
      for (const [key, name] of RESULTS)
        precision.push([s, f, name, String(c.sentences), ...PRECISION_THRESHOLDS.map((p) => fmt(c[key].precision[p.toFixed(1)] ?? 0))]);
    }
  return { main, precision };
}

export function datasetTablesMarkdown(tables: DatasetTable[]): string[] {
  const lines: string[] = [];
  const md = (rows: string[][]) => [`| ${rows[0].join(' | ')} |`, `|${rows[0].map(() => ' --- ').join('|')}|`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)];
  for (const t of tables) {
    const { main, precision } = tableRows(t);
    lines.push(`## ${t.dataset}`, '', ...md(main), '', ...md(precision), '');
  }
  return lines;
}

export function datasetTablesHtml(tables: DatasetTable[], esc: (s: string) => string): string[] {
  const html = (rows: string[][], cls: string) =>
    `<table class="${cls}"><thead><tr>${rows[0].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.slice(1).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
  return tables.map((t) => {
    const { main, precision } = tableRows(t);
    return `<section class="dataset"><h2>${esc(t.dataset)}</h2>${html(main, 'paper')}${html(precision, 'precision')}</section>`;
  });
}
