# Fixed test inputs and the reference-output files (reference.json + reference.bin) the TS tests read.
import json
import os

import numpy as np
import torch


def pattern_index(shape, seed):
    """k_i = (i·7919 + seed·104729) mod 2001, the integers behind every fixed test input."""
    return (np.arange(int(np.prod(shape)), dtype=np.int64) * 7919 + seed * 104729) % 2001


def pattern(shape, seed):
    """Deterministic float32 values in [−1, 1]: (k_i − 1000) / 1000, computed in float64 and rounded once, so that
    test/loadModels.test.ts regenerates them bit for bit."""
    return torch.from_numpy(((pattern_index(shape, seed) - 1000) / 1000.0).astype(np.float32).reshape(shape))


def mask_pattern(shape, seed, levels=5):
    """Mask-grid values (k_i mod levels) / (levels − 1): zeros (blocked patches), fractions and ones."""
    k = pattern_index(shape, seed) % levels
    return torch.from_numpy((k / (levels - 1)).astype(np.float32).reshape(shape))


def write_reference(out_dir, cases):
    """cases: [(model, inputs description, {output name: tensor})] → reference.json + little-endian float32 .bin."""
    entries, offset = [], 0
    with open(os.path.join(out_dir, 'reference.bin'), 'wb') as f:
        for model, inputs, outputs in cases:
            outs = {}
            for name, tensor in outputs.items():
                data = tensor.detach().float().contiguous().numpy().astype('<f4')
                f.write(data.tobytes())
                outs[name] = {'offset': offset, 'shape': list(data.shape)}
                offset += data.size
            entries.append({'model': model, 'inputs': inputs, 'outputs': outs})
    with open(os.path.join(out_dir, 'reference.json'), 'w') as f:
        json.dump({'description': 'PyTorch outputs of the exported modules for fixed inputs; offsets count float32 '
                                  'values in reference.bin', 'cases': entries}, f, indent=1)
        f.write('\n')
