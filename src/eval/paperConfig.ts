// Spec §2 and §4: the paper's configuration (SAM ViT-H and CLIP ViT-B/16 from their released checkpoints, fusion
// G2L, fp32, the reference's SAM settings) and, for a run, every way it differs — recorded with eval and bench results
// so that no number is mistaken for a reproduction of the published ones.
import type { Manifest } from '../models/loadModels.ts';
import { OFFICIAL } from '../models/officialCheckpoints.ts';

export interface RunConfiguration {
  /** SAM's architecture as the manifest records it (vit_h, vit_l, vit_b; `-tiny` for test models). */
  samType: string;
  /** CLIP's vision tower by its widths (ViT-B/16 for the released one). */
  clip: string;
  /** sha256 of the checkpoints the models were made from ('random-init' for random weights). */
  checkpoints: { sam: string; clip: string };
  fusion: string;
  precision: string;
  /** Changes to the SAM generator's settings (PhraseCut's --sam-points-…), absent when none. */
  samSettings?: Record<string, unknown>;
  /** Whether this is the paper's configuration; `differences` says how it is not, one item each. */
  paper: boolean;
  differences: string[];
}

function clipName(config: Record<string, unknown>): string {
  const { vision_width: width, vision_layers: layers, vision_patch_size: patch, image_resolution: size } = config;
  if (width === 768 && layers === 12 && patch === 16 && size === 224) return 'ViT-B/16';
  return `custom (width ${String(width)}, ${String(layers)} layers, patch ${String(patch)}, ${String(size)} px)`;
}

const short = (sha: string) => (/^[0-9a-f]{64}$/.test(sha) ? `sha256 ${sha.slice(0, 12)}…` : sha);

/** The configuration of a run on the models of `manifest`, compared with the paper's. */
export function runConfiguration(manifest: Manifest, options: { fusion: string; precision: string; samSettings?: Record<string, unknown> }): RunConfiguration {
  // Read defensively: models assembled in code (tests, tools) may carry a partial manifest.
  const samType = String(manifest.config?.sam?.arch ?? 'unknown');
  const clip = clipName(manifest.config?.clip ?? {});
  const checkpoints = { sam: manifest.sources?.sam?.sha256 ?? 'unknown', clip: manifest.sources?.clip?.sha256 ?? 'unknown' };
  const differences: string[] = [];
  if (samType !== 'vit_h') differences.push(`SAM ${samType} (the paper: vit_h)`);
  else if (checkpoints.sam !== OFFICIAL.vit_h.sha256)
    differences.push(`SAM weights are not the released ${OFFICIAL.vit_h.file} (${short(checkpoints.sam)})`);
  if (clip !== 'ViT-B/16') differences.push(`CLIP ${clip} (the paper: ViT-B/16)`);
  else if (checkpoints.clip !== OFFICIAL.clip.sha256)
    differences.push(`CLIP weights are not the released ${OFFICIAL.clip.file} (${short(checkpoints.clip)})`);
  if (options.fusion !== 'G2L') differences.push(`fusion ${options.fusion} (the reference's default: G2L)`);
  if (options.precision !== 'fp32') differences.push(`precision ${options.precision} (the paper: fp32)`);
  if (options.samSettings && Object.keys(options.samSettings).length > 0)
    differences.push(`SAM generator settings changed (${Object.entries(options.samSettings).map(([k, v]) => `${k} ${String(v)}`).join(', ')})`);
  return {
    samType, clip, checkpoints, fusion: options.fusion, precision: options.precision,
    ...(options.samSettings && Object.keys(options.samSettings).length > 0 ? { samSettings: options.samSettings } : {}),
    paper: differences.length === 0, differences,
  };
}

/** One line for people: what ran and, where it is not the paper's configuration, how. */
export function describeConfiguration(c: RunConfiguration): string {
  const what = `SAM ${c.samType}, CLIP ${c.clip}, fusion ${c.fusion}, ${c.precision}`;
  return c.paper ? `${what}: the paper's configuration` : `${what}. Not the paper's configuration: ${c.differences.join('; ')}.`;
}

export function isRunConfiguration(value: unknown): value is RunConfiguration {
  const c = value as RunConfiguration;
  return typeof c === 'object' && c !== null && typeof c.samType === 'string' && typeof c.paper === 'boolean' &&
    Array.isArray(c.differences);
}
