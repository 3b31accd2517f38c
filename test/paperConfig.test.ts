import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { describeConfiguration, runConfiguration } from '../src/eval/paperConfig.ts';
import type { Manifest } from '../src/models/loadModels.ts';
import { OFFICIAL } from '../src/models/officialCheckpoints.ts';

const tiny = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'e2e', 'models', 'manifest.json'), 'utf8')) as Manifest;

/** A manifest of the released checkpoints, as `models fetch` writes it (only the fields the check reads). */
function released(samType: 'vit_h' | 'vit_b', samSha = OFFICIAL[samType].sha256, clipSha = OFFICIAL.clip.sha256): Manifest {
  return {
    ...tiny,
    sources: { sam: { checkpoint: OFFICIAL[samType].file, sha256: samSha }, clip: { checkpoint: OFFICIAL.clip.file, sha256: clipSha } },
    config: {
      sam: { ...tiny.config.sam, arch: samType },
      clip: { ...tiny.config.clip, vision_width: 768, vision_layers: 12, vision_patch_size: 16, image_resolution: 224 },
    },
  };
}

describe('runConfiguration: the paper\'s configuration and how a run differs from it', () => {
  it('SAM vit_h and CLIP ViT-B/16 from the released checkpoints, G2L, fp32 is the paper\'s', () => {
    const c = runConfiguration(released('vit_h'), { fusion: 'G2L', precision: 'fp32' });
    expect(c).toMatchObject({ samType: 'vit_h', clip: 'ViT-B/16', paper: true, differences: [] });
    expect(describeConfiguration(c)).toBe('SAM vit_h, CLIP ViT-B/16, fusion G2L, fp32: the paper\'s configuration');
  });

  it('names every difference, one item each', () => {
    const c = runConfiguration(released('vit_b'), { fusion: 'L2G', precision: 'fp16', samSettings: { pointsPerSide: 16 } });
    expect(c.paper).toBe(false);
    expect(c.differences).toEqual([
      'SAM vit_b (the paper: vit_h)',
      'fusion L2G (the reference\'s default: G2L)',
      'precision fp16 (the paper: fp32)',
      'SAM generator settings changed (pointsPerSide 16)',
    ]);
    expect(describeConfiguration(c)).toMatch(/^SAM vit_b, CLIP ViT-B\/16, fusion L2G, fp16\. Not the paper's configuration: SAM vit_b/);
  });

  it('vit_h from other weights (a fine-tune, random init) is not the paper\'s', () => {
    const c = runConfiguration(released('vit_h', 'random-init', 'ab'.repeat(32)), { fusion: 'G2L', precision: 'fp32' });
    expect(c.differences).toEqual([
      'SAM weights are not the released sam_vit_h_4b8939.pth (random-init)',
      'CLIP weights are not the released ViT-B-16.pt (sha256 abababababab…)',
    ]);
  });

  it('the tiny test models are flagged on SAM and CLIP', () => {
    const c = runConfiguration(tiny, { fusion: 'G2L', precision: 'fp32' });
    expect(c.paper).toBe(false);
    expect(c.samType).toBe('vit_h-tiny');
    expect(c.differences[0]).toBe('SAM vit_h-tiny (the paper: vit_h)');
    expect(c.differences[1]).toMatch(/^CLIP custom \(width 32, 12 layers, patch 16, 224 px\) \(the paper: ViT-B\/16\)$/);
  });
});
