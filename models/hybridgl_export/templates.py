# Weight-free graph templates for the TypeScript converter (`hybridgl models convert`, src/models/convert.ts):
# an exported graph with the data of every initializer that comes from the checkpoint removed, and a recipe per
# removed initializer saying which checkpoint tensors it is made of. The converter puts the tensors back, so its
# graphs are export.py's graphs, byte for byte where no arithmetic is involved (see models/README.md).
import hashlib
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from onnx import TensorProto, numpy_helper

from .graph_io import load_inline

from . import weights as wt

FORMAT = 'hybridgl-templates'


def _key_state(state):
    return {k: {'key': k, 'shape': list(v.shape)} for k, v in state.items()}


def resample_taps(old, new):
    """PyTorch's antialiased-bicubic weights old → new along one axis, as [first input index, weights] per output
    index, read off by resampling unit impulses. The converter applies them along W then H, each sum as
    t = fma(x, w, t) in float32: on this CPU that reproduces resample_positional_embedding bit for bit."""
    taps = []
    impulses = torch.eye(old).reshape(old, 1, 1, old)
    table = F.interpolate(impulses, size=(1, new), mode='bicubic', antialias=True)[:, 0, 0, :].t()  # [new, old]
    for row in table:
        nz = torch.nonzero(row).flatten()
        first, last = int(nz[0]), int(nz[-1])
        taps.append([first, [float(w) for w in row[first:last + 1]]])
    return taps


def _resampled(src, grid):
    old = round((src['shape'][0] - 1) ** 0.5)
    return dict(src, resample=grid, taps=resample_taps(old, grid))


def source_maps(models, sam_state, clip_state):
    """For each model: module parameter name → {'key': checkpoint key[, 'resample': grid]} (as Models wires them)."""
    cfg = models.clip_cfg
    sam, clip = _key_state(sam_state), _key_state(clip_state)
    maps = {'sam_encoder': wt.sam_encoder_state(sam), 'sam_decoder': wt.sam_decoder_state(sam),
            'clip_trunk': wt.clip_trunk_state(clip, cfg), 'clip_text': wt.clip_text_state(clip, cfg),
            'gem_visual': wt.gem_state(clip, cfg, _resampled)}
    for name, module in models.modules.items():
        if name.startswith('clip_head_'):
            maps[name] = wt.clip_head_state(clip, len(module.blocks), cfg)
    return maps


def _digest(raw):
    return hashlib.sha256(raw).digest()


def _bytes(value):
    return value.detach().float().contiguous().numpy().tobytes()


def _candidates(module, sources):
    """Digest of each parameter's bytes as stored and transposed → the recipe part that rebuilds it (digests, not
    bytes, so that vit_h's 2.5 GB of parameters are not held twice more)."""
    table = {}
    for name, value in module.state_dict().items():
        if name not in sources:
            continue  # non-persistent buffers are graph constants, not weights
        value = value.detach().float()
        forms = [(value, False)] + ([(value.t(), True)] if value.dim() == 2 and min(value.shape) > 1 else [])
        for form, transposed in forms:
            part = dict(sources[name], transpose=True) if transposed else dict(sources[name])
            table.setdefault(_digest(_bytes(form)), []).append(part)
    return table


def _params(module, sources):
    """Per parameter: its byte length, first bytes and digest, for the concatenation search."""
    out = {}
    for k, v in module.state_dict().items():
        if k in sources:
            raw = _bytes(v)
            out[k] = (len(raw), raw[:16], _digest(raw), dict(sources[k]))
    return out


def _recipe(values, table, params):
    """The parts whose concatenation is `values` (one tensor, a transpose, or a concatenation along dim 0)."""
    raw = values.tobytes()
    hits = table.get(_digest(raw))
    if hits:
        if len({json.dumps(h, sort_keys=True) for h in hits}) > 1:
            raise RuntimeError(f'ambiguous source for an initializer: {hits}')
        return [hits[0]]
    parts, at = [], 0
    view = memoryview(raw)
    while at < len(raw):
        step = next(((n, p) for n, head, d, p in params.values()
                     if n and at + n <= len(raw) and raw.startswith(head, at) and _digest(view[at:at + n]) == d), None)
        if step is None:
            return None
        parts.append(step[1])
        at += step[0]
    return parts if len(parts) > 1 else None


def write_template(onnx_path, out_dir, module, sources, fp32_recipes=None):
    """Writes <out_dir>/<file>.template (the graph without checkpoint data) and returns the recipes. An fp16 graph
    keeps its fp32 graph's initializer names (hybridgl_export/fp16.py), so it takes that graph's recipes."""
    model = load_inline(onnx_path)
    table = _candidates(module, sources) if fp32_recipes is None else None
    params = _params(module, sources) if fp32_recipes is None else None
    recipes = {}
    for init in model.graph.initializer:
        if init.data_type not in (TensorProto.FLOAT, TensorProto.FLOAT16) or not init.raw_data:
            continue
        if fp32_recipes is not None:
            parts = fp32_recipes.get(init.name)
        else:
            parts = _recipe(numpy_helper.to_array(init).astype(np.float32), table, params)
        if parts is None:
            continue  # a constant of the graph (same for every checkpoint): it stays in the template
        recipes[init.name] = parts
        init.ClearField('raw_data')
    name = os.path.basename(onnx_path) + '.template'
    with open(os.path.join(out_dir, name), 'wb') as f:
        f.write(model.SerializeToString())
    return name, recipes


def template_dirs(root, sam_cfg):
    sam = os.path.join(root, 'sam-' + sam_cfg['arch'])
    clip = os.path.join(root, 'clip-' + ('tiny' if sam_cfg['arch'].endswith('-tiny') else 'vit_b_16'))
    return sam, clip


def write_index(out_dir, family, config, entries, exporter):
    """templates.json: the architecture config, the exporter, and per file its model spec and recipes."""
    index = {'format': FORMAT, 'formatVersion': 1, 'family': family, 'config': config, 'exporter': exporter,
             'torch': torch.__version__, 'files': entries}
    with open(os.path.join(out_dir, 'templates.json'), 'w') as f:
        json.dump(index, f, indent=1)
        f.write('\n')
