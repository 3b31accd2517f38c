# Weight-free graph templates for the TypeScript converter (`hybridgl models convert`, src/models/convert.ts):
# an exported graph with the data of every initializer that comes from the checkpoint removed, and a recipe per
# removed initializer saying which checkpoint tensors it is made of. The converter puts the tensors back, so its
# graphs are export.py's graphs, byte for byte where no arithmetic is involved (see models/README.md).
import copy
import hashlib
import itertools
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from onnx import TensorProto, numpy_helper

from .graph_io import load_inline

from . import int8
from . import weights as wt

FORMAT = 'hybridgl-templates'
# 2: recipes may permute a parameter's axes, and each file lists the float initializers proven weight-independent
# ("constants"); version 1's builder left whatever it did not recognise in the template (SAM's upscaling weights).
FORMAT_VERSION = 2


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


def _forms(value):
    """The layouts an exported graph may hold a parameter in, each as (tensor, recipe fields): as stored, a 2-D
    transpose (Linear weights folded into MatMul), or any other axis order of a tensor of 3 or more dims (SAM's
    ConvTranspose weights enter the decoder permuted (0, 2, 3, 1) and flattened to a matrix); a reshape does not move
    bytes, so the graph's own dims cover it. Orders that give the stored bytes again (moving size-1 axes) are left out."""
    yield value, {}
    if value.dim() == 2 and min(value.shape) > 1:
        yield value.t(), {'transpose': True}
    elif value.dim() >= 3:
        seen = {_digest(_bytes(value))}
        for axes in itertools.permutations(range(value.dim())):
            if list(axes) == sorted(axes):
                continue
            form = value.permute(*axes)
            d = _digest(_bytes(form))
            if d not in seen:
                seen.add(d)
                yield form, {'permute': list(axes)}


def _candidates(module, sources):
    """Digest of each parameter's bytes in each form → the recipe part that rebuilds it (digests, not bytes, so that
    vit_h's 2.5 GB of parameters are not held twice more)."""
    table = {}
    for name, value in module.state_dict().items():
        if name not in sources:
            continue  # non-persistent buffers are graph constants, not weights
        for form, fields in _forms(value.detach().float()):
            table.setdefault(_digest(_bytes(form)), []).append(dict(sources[name], **fields))
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
    """The parts whose concatenation is `values` (one tensor in one of its forms, or a concatenation along dim 0)."""
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


def _float_initializers(model):
    """name → the float32/float16 (or int8: int8.py's weights) initializer (raw or typed data) of a graph."""
    kinds = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT8)
    return {i.name: i for i in model.graph.initializer if i.data_type in kinds}


def _int8_recipe(name, fp32_recipes):
    """An int8 graph's `<weight>/int8` or `<weight>/int8_scale`: the fp32 weight's recipe, marked with the part of
    its per-column quantisation it is (int8.py)."""
    for suffix, part in ((int8.VALUES, 'values'), (int8.SCALES, 'scales')):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and base in fp32_recipes:
            return [dict(p, int8=part) for p in fp32_recipes[base]]
    return None


def _quantized(values, part, shape):
    """The int8 values or scales of the flat fp32 weight `values` whose int8 initializer has `shape`."""
    columns = shape[-1]
    q, scale = int8.quantize_per_column(values.reshape(-1, columns))
    return q if part == 'values' else scale


def write_template(onnx_path, out_dir, module, sources, fp32_recipes=None):
    """Writes <out_dir>/<file>.template (the graph without checkpoint data) and returns (file name, recipes, the
    float initializers left in it: name → digest of its values). An fp16 graph keeps its fp32 graph's initializer names
    (hybridgl_export/fp16.py), so it takes that graph's recipes. What is left is only a candidate constant:
    check_template proves it on an export from other weights."""
    model = load_inline(onnx_path)
    table = _candidates(module, sources) if fp32_recipes is None else None
    params = _params(module, sources) if fp32_recipes is None else None
    recipes, left = {}, {}
    for init in _float_initializers(model).values():
        if fp32_recipes is not None:
            parts = fp32_recipes.get(init.name) or _int8_recipe(init.name, fp32_recipes)
        elif init.raw_data:
            parts = _recipe(numpy_helper.to_array(init).astype(np.float32), table, params)
        else:
            parts = None
        if parts is None:
            left[init.name] = _digest(numpy_helper.to_array(init).tobytes())
            continue
        recipes[init.name] = parts
        init.ClearField('raw_data')
    name = os.path.basename(onnx_path) + '.template'
    with open(os.path.join(out_dir, name), 'wb') as f:
        f.write(model.SerializeToString())
    return name, recipes, left


def _apply(part, values):
    """One recipe part on the module parameter it names (GEM's resample is already in the parameter)."""
    if part.get('transpose'):
        return values.t()
    if 'permute' in part:
        return values.permute(*part['permute'])
    return values


def other_weights(module, sources, seed, resample):
    """A copy of `module` with every parameter from the checkpoint drawn afresh (official shapes, weights.random_like,
    this seed; GEM's positional embedding resampled as Models does): the second random state check_template needs."""
    other = copy.deepcopy(module)
    gen = torch.Generator().manual_seed(seed)
    state = other.state_dict()  # shares storage with the parameters and buffers
    for name, src in sources.items():
        value = wt.random_like(src['key'], tuple(src['shape']), gen)
        if 'resample' in src:
            value = resample(value, src['resample'])
        state[name].copy_(value)
    return other


def check_template(template_path, other_path, module, sources, recipes, constants):
    """The proof that a template holds no weights: `other_path` is the same graph exported from `module`, loaded
    with other (random) weights than the template's. Every initializer with a recipe must be that recipe applied to
    `module`'s parameters, byte for byte (fp16: after rounding; int8: after quantising); every float initializer left in the template
    (`constants`: name → digest, from write_template) must be byte-identical in both exports; and the other export
    with its recipes' data cleared must be the template byte for byte (nodes, attributes, every other initializer).
    Anything else fails, naming the graph and the initializer or node."""
    graph = os.path.basename(template_path)[:-len('.template')]
    other_model = load_inline(other_path)
    other = _float_initializers(other_model)
    mine = set(recipes) | set(constants)
    if mine != set(other):
        raise RuntimeError(f'{graph}: the export from other weights has other float initializers '
                           f'({sorted(mine ^ set(other))[:6]}): the template is not weight-independent')
    by_source = {json.dumps(src, sort_keys=True): name for name, src in sources.items()}
    state = module.state_dict()
    for name, init in other.items():
        got = numpy_helper.to_array(init)
        if name in constants:
            if _digest(got.tobytes()) != constants[name]:
                raise RuntimeError(f'{graph}: initializer {name} {list(init.dims)} is left in the template as a '
                                   'constant of the graph, but an export from other weights has other values: it '
                                   'depends on the checkpoint, and no recipe rebuilds it')
            continue
        parts = recipes[name]
        values = []
        for part in parts:
            base = {k: v for k, v in part.items() if k not in ('transpose', 'permute', 'int8')}
            values.append(_apply(part, state[by_source[json.dumps(base, sort_keys=True)]].detach().float()).flatten())
        want = torch.cat(values).numpy()
        if 'int8' in parts[0]:
            want = _quantized(want, parts[0]['int8'], got.shape)
        want = want.astype(got.dtype).reshape(got.shape)
        if want.tobytes() != got.tobytes():
            raise RuntimeError(f'{graph}: initializer {name}: its recipe {parts} does not rebuild the export from '
                               'other weights')
        init.ClearField('raw_data')
    with open(template_path, 'rb') as f:
        template = f.read()
    if other_model.SerializeToString() != template:
        import onnx
        mine = onnx.load_from_string(template)
        for a, b in zip(mine.graph.node, other_model.graph.node):
            if a != b:
                raise RuntimeError(f'{graph}: node {a.name} ({a.op_type}) differs in an export from other weights: '
                                   'the template would keep weights in it')
        raise RuntimeError(f'{graph}: the template differs from an export from other weights (not in its nodes)')


def template_dirs(root, sam_cfg):
    sam = os.path.join(root, 'sam-' + sam_cfg['arch'])
    clip = os.path.join(root, 'clip-' + ('tiny' if sam_cfg['arch'].endswith('-tiny') else 'vit_b_16'))
    return sam, clip


def read_index(out_dir):
    """The file entries of out_dir/templates.json ([] when there is none or it is of another format)."""
    path = os.path.join(out_dir, 'templates.json')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        index = json.load(f)
    return index['files'] if index.get('format') == FORMAT and index.get('formatVersion') == FORMAT_VERSION else []


def write_index(out_dir, family, config, entries, exporter):
    """templates.json: the architecture config, the exporter, and per file its model spec, recipes and proven
    constants."""
    index = {'format': FORMAT, 'formatVersion': FORMAT_VERSION, 'family': family, 'config': config, 'exporter': exporter,
             'torch': torch.__version__, 'files': entries}
    with open(os.path.join(out_dir, 'templates.json'), 'w') as f:
        json.dump(index, f, indent=1)
        f.write('\n')
