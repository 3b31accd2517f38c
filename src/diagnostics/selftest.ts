// `hybridgl selftest`: the kernel self-test as a table to read or attach to a bug report.
import { backendInfo, selfTest, selfTestFailed, type FamilyStatus } from '../../bindings/backend.ts';

export interface SelfTestReport {
  device: string;
  cudaCompiled: boolean;
  families: FamilyStatus[];
  failed: boolean;
}

export function runSelfTestReport(): SelfTestReport {
  const info = backendInfo();
  const families = selfTest();
  return {
    device: info.cuda ? (info.device ?? 'cuda') : `cpu (${info.reason ?? 'no GPU'})`,
    cudaCompiled: info.cudaCompiled,
    families,
    failed: selfTestFailed(families),
  };
}

export function formatSelfTest(r: SelfTestReport): string {
  const rows = r.families.map((f) => [f.family, f.backend, f.result, f.ms.toFixed(2), f.detail ?? '']);
  const head = ['family', 'backend', 'result', 'ms', 'detail'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
  return [`device: ${r.device}${r.cudaCompiled ? '' : ' — this build has no CUDA kernels'}`, line(head),
    ...rows.map(line), r.failed ? 'FAILED: the families above marked mismatch/error run on the CPU' : 'ok'].join('\n');
}
