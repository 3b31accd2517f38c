import { describe, expect, it } from 'vitest';

import { reportHtml, reportMarkdown } from '../src/eval/report.ts';
import { datasetTablesMarkdown, groupRuns, tableRows } from '../src/eval/reportTables.ts';
import type { SentenceResult } from '../src/eval/store.ts';

const pred = (intersection: number, union: number) => ({ intersection, union, iou: union ? intersection / union : 0 });
const line = (ref_id: number, h: [number, number], g: [number, number]): SentenceResult =>
  ({ ref_id, sent_id: ref_id, image_id: ref_id, hybrid: pred(...h), guided: pred(...g) });
const run = (dataset: string, split: string, fusion: string, results: SentenceResult[], shard?: object) =>
  ({ meta: { dataset, split, fusion, ...(shard ? { shard } : {}) }, results });

const runs = [
  run('phrasecut', 'test', 'G2L', [line(1, [5, 10], [9, 10])]),
  run('refcoco', 'testB', 'G2L', [line(1, [1, 10], [6, 10])], { index: 1, count: 2 }),
  run('refcoco', 'testB', 'G2L', [line(2, [3, 10], [8, 10]), line(1, [1, 10], [6, 10])], { index: 2, count: 2 }),
  run('refcoco', 'val', 'L2G', [line(1, [7, 10], [7, 10])]),
  run('refcoco', 'val', 'G2L', [line(1, [10, 10], [10, 10]), line(2, [0, 10], [6, 10])]),
  run('refcoco', 'testA', 'G2L', [line(1, [2, 4], [3, 4])]),
];

describe('groupRuns', () => {
  const tables = groupRuns(runs);
  it('one table per dataset, in the paper order; splits and fusions ordered', () => {
    expect(tables.map((t) => t.dataset)).toEqual(['refcoco', 'phrasecut']);
    expect(tables[0].splits).toEqual(['val', 'testA', 'testB']);
    expect(tables[0].fusions).toEqual(['G2L', 'L2G']);
  });
  it('pools the runs of one group, each sentence once', () => {
    const c = tables[0].cells.testB.G2L;
    expect(c.runs).toBe(2);
    expect(c.sentences).toBe(2);
    expect(c.hybrid.oIoU).toBeCloseTo((100 * 4) / 20, 10);
    expect(c.guided.mIoU).toBeCloseTo(70, 10);
  });
  it('rows: oIoU / mIoU per split (– where a run is missing) and P@0.5–0.9 per split and fusion', () => {
    const { main, precision } = tableRows(tables[0]);
    expect(main[0]).toEqual(['result', 'fusion', 'val oIoU', 'val mIoU', 'testA oIoU', 'testA mIoU', 'testB oIoU', 'testB mIoU']);
    expect(main[1]).toEqual(['pure HybridGL', 'G2L', '50.00', '50.00', '50.00', '50.00', '20.00', '20.00']);
    expect(main[2]).toEqual(['pure HybridGL', 'L2G', '70.00', '70.00', '–', '–', '–', '–']);
    expect(precision[0]).toEqual(['split', 'fusion', 'result', 'sentences', 'P@0.5', 'P@0.6', 'P@0.7', 'P@0.8', 'P@0.9']);
    // val G2L guided: IoUs 1.0 and 0.6
    expect(precision.find((r) => r[0] === 'val' && r[1] === 'G2L' && r[2] === 'w/ spatial guidance'))
      .toEqual(['val', 'G2L', 'w/ spatial guidance', '2', '100.00', '100.00', '50.00', '50.00', '50.00']);
  });
  it('a run with a changed SAM generator gets its own fusion row', () => {
    const t = groupRuns([{ meta: { dataset: 'phrasecut', split: 'test', fusion: 'G2L', sam: { pointsPerSide: 2 } }, results: [line(1, [1, 2], [1, 2])] },
      runs[0]]);
    expect(t[0].fusions).toEqual(['G2L', 'G2L (SAM pointsPerSide 2)']);
  });
  it('a run on another SAM than vit_h gets its own fusion row', () => {
    const t = groupRuns([{ meta: { dataset: 'refcoco', split: 'val', fusion: 'G2L', configuration: { samType: 'vit_b' } }, results: [line(1, [1, 2], [1, 2])] },
      { meta: { dataset: 'refcoco', split: 'val', fusion: 'G2L', configuration: { samType: 'vit_h' } }, results: [line(1, [2, 2], [2, 2])] }]);
    expect(t[0].fusions).toEqual(['G2L', 'G2L (SAM vit_b)']);
    expect(t[0].cells.val.G2L.hybrid.oIoU).toBe(100);
  });
  it('the markdown and HTML reports show the tables first', () => {
    const md = datasetTablesMarkdown(tables).join('\n');
    expect(md).toMatch(/## refcoco\n\n\| result \| fusion \| val oIoU/);
    expect(md).toMatch(/## phrasecut/);
    const input = { title: 't', sections: [], datasets: tables };
    expect(reportMarkdown(input)).toContain('| pure HybridGL | G2L | 50.00 |');
    expect(reportHtml(input)).toMatch(/<section class="dataset"><h2>refcoco<\/h2><table class="paper">/);
  });
});
