#!/usr/bin/env python3
# Spec §2, §4, §5, §8: export SAM, the CLIP ViT-B/16 trunk + hybrid heads, the CLIP text encoder and GEM's visual
# path to ONNX, with a manifest the TypeScript loader (src/models/loadModels.ts) validates. See models/README.md.
import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hybridgl_export import clip_modules as cm  # noqa: E402
from hybridgl_export import sam_modules as sm  # noqa: E402
from hybridgl_export import weights as wt  # noqa: E402
from hybridgl_export.reference_io import mask_pattern, pattern, write_reference  # noqa: E402

EXPORTER_VERSION = '1'
OPSET = 17
EXTERNAL_DATA_ABOVE = 2 ** 31 - 2 ** 24  # the rule src/models/onnxTemplate.ts applies too
TEMPLATE_CHECK_SEED = 7919  # --templates: the second random state is drawn with --seed + this
HEAD_FILES = {'G2L': 'clip_head_g2l', 'L2G': 'clip_head_l2g', 'G2L&L2G': 'clip_head_g2l_l2g',
              'token_masking': 'clip_head_token_masking', 'attn_masking': 'clip_head_attn_masking',
              'crop': 'clip_head_crop'}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def io(name, dtype, shape):
    return {'name': name, 'dtype': dtype, 'shape': shape}


class Models:
    """The PyTorch modules to export, with their ONNX input/output specs (symbolic dims are strings)."""

    def __init__(self, sam_cfg, sam_state, clip_cfg, clip_state):
        self.sam_cfg, self.clip_cfg = sam_cfg, clip_cfg
        self.modules, self.specs = {}, {}
        grid = sam_cfg['image_size'] // sam_cfg['patch_size']
        c = sam_cfg['prompt_embed_dim']
        self.add('sam_encoder', sm.SamImageEncoder(sam_cfg), wt.sam_encoder_state(sam_state),
                 [io('pixels', 'float32', ['batch', 3, sam_cfg['image_size'], sam_cfg['image_size']])],
                 [io('embeddings', 'float32', ['batch', c, grid, grid])])
        low = grid * 4
        self.add('sam_decoder', sm.SamPromptDecoder(sam_cfg), wt.sam_decoder_state(sam_state),
                 [io('embeddings', 'float32', [1, c, grid, grid]), io('points', 'float32', ['prompts', 'points', 2]),
                  io('labels', 'float32', ['prompts', 'points'])],
                 [io('low_res_logits', 'float32', ['prompts', 3, low, low]),
                  io('iou_predictions', 'float32', ['prompts', 3])])
        d, e = clip_cfg['vision_width'], clip_cfg['embed_dim']
        g = clip_cfg['image_resolution'] // clip_cfg['vision_patch_size']
        tokens = g * g + 1
        self.add('clip_trunk', cm.ClipTrunk(clip_cfg), wt.clip_trunk_state(clip_state, clip_cfg),
                 [io('images', 'float32', ['batch', 3, clip_cfg['image_resolution'], clip_cfg['image_resolution']])],
                 [io('tokens', 'float32', ['batch', tokens, d])])
        grid_in = io('mask_grid', 'float32', ['masks', g, g])
        for fusion, name in HEAD_FILES.items():
            head = cm.HybridHead(clip_cfg, fusion)
            if fusion in ('G2L', 'L2G', 'G2L&L2G'):
                inputs = [io('local', 'float32', ['masks', tokens, d]), io('global', 'float32', ['masks', tokens, d]),
                          grid_in]
            elif fusion == 'crop':
                inputs = [io('tokens', 'float32', ['masks', tokens, d])]
            else:  # a batch of 1 broadcasts over the masks
                inputs = [io('tokens', 'float32', ['tokens_batch', tokens, d]), grid_in]
            self.add(name, head, wt.clip_head_state(clip_state, len(head.blocks), clip_cfg), inputs,
                     [io('features', 'float32', ['masks', e])], fusion=fusion)
        ctx = clip_cfg['context_length']
        self.add('clip_text', cm.ClipText(clip_cfg), wt.clip_text_state(clip_state, clip_cfg),
                 [io('ids', 'int64', ['batch', ctx])], [io('features', 'float32', ['batch', e])])
        res = clip_cfg['gem_resolution']
        gg = res // clip_cfg['vision_patch_size']
        self.add('gem_visual', cm.GemVisual(clip_cfg, res, clip_cfg['gem_depth']),
                 wt.gem_state(clip_state, clip_cfg, cm.resample_positional_embedding),
                 [io('images', 'float32', ['batch', 3, res, res])],
                 [io('patch_features', 'float32', ['batch', gg * gg, e])])

    def add(self, name, module, state, inputs, outputs, **extra):
        module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        self.modules[name] = module.eval()
        self.specs[name] = dict(inputs=inputs, outputs=outputs, **extra)


def example_inputs(spec):
    sizes = {'batch': 2, 'prompts': 2, 'points': 2, 'masks': 2, 'tokens_batch': 2}
    out = []
    for t in spec['inputs']:
        shape = [sizes[s] if isinstance(s, str) else s for s in t['shape']]
        out.append(torch.ones(shape, dtype=torch.int64) if t['dtype'] == 'int64' else torch.rand(shape))
    return tuple(out)


def export_onnx(module, spec, path, external_above):
    names_in = [t['name'] for t in spec['inputs']]
    names_out = [t['name'] for t in spec['outputs']]
    dynamic = {t['name']: {i: s for i, s in enumerate(t['shape']) if isinstance(s, str)}
               for t in spec['inputs'] + spec['outputs']}
    # Over 2 GB torch writes one external file per tensor beside the graph: a scratch directory keeps them apart.
    scratch = path + '.export'
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    traced = os.path.join(scratch, os.path.basename(path))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(module, example_inputs(spec), traced, input_names=names_in, output_names=names_out,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    try:
        import onnx  # noqa: F401
    except ImportError:
        if os.listdir(scratch) != [os.path.basename(path)]:
            sys.exit(f'export.py: {path} is over 2 GB: its external data needs the onnx Python package')
        os.replace(traced, path)
    else:
        from hybridgl_export.graph_io import load_inline
        save_graph(load_inline(traced), path, spec, external_above)
    shutil.rmtree(scratch)


def initializer_bytes(model):
    return sum(len(init.raw_data) for init in model.graph.initializer)


def save_graph(model, path, spec, external_above):
    """States the outputs' shapes as the spec has them (tracing loses some static sizes), saves, checks the file and
    requires its inputs/outputs to be the spec's. A graph whose initializers hold more than `external_above` bytes
    keeps every initializer's raw data in <file>.data (ONNX external data, offsets in file order, no padding): the
    layout `hybridgl models convert` writes too (src/models/onnxTemplate.ts)."""
    import onnx
    for value, t in zip(model.graph.output, spec['outputs']):
        for dim, size in zip(value.type.tensor_type.shape.dim, t['shape']):
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = size
    types = {1: 'float32', 7: 'int64', 10: 'float16'}
    for kind, values in (('inputs', model.graph.input), ('outputs', model.graph.output)):
        got = [(v.name, types.get(v.type.tensor_type.elem_type),
                [d.dim_param if d.dim_param else d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]
        want = [(t['name'], t['dtype'], t['shape']) for t in spec[kind]]
        if got != want:
            raise RuntimeError(f'{path}: exported {kind} {got} differ from the spec {want}')
    data = external_data_path(path)
    if os.path.exists(data):
        os.remove(data)  # onnx appends to an existing file
    if initializer_bytes(model) > external_above:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(data), size_threshold=0)
    else:
        onnx.save(model, path)
    onnx.checker.check_model(path)


def external_data_path(path):
    return path + '.data'


def write_fp16(fp32_path, path, spec, external_above):
    from hybridgl_export.fp16 import convert_to_fp16
    from hybridgl_export.graph_io import load_inline
    save_graph(convert_to_fp16(load_inline(fp32_path)), path, spec, external_above)


def write_int8(fp32_path, path, spec, external_above):
    from hybridgl_export.graph_io import load_inline
    from hybridgl_export.int8 import convert_to_int8
    save_graph(convert_to_int8(load_inline(fp32_path)), path, spec, external_above)


# Reduced-precision variants of an fp32 graph: precision -> the writer (each a conversion of the fp32 graph).
VARIANT_WRITERS = {'fp16': write_fp16, 'int8': write_int8}
# --int8 with no list: the models whose int8 graphs ran at least twice as fast as fp32 on ONNX Runtime's CPU
# provider (AVX-512 VNNI / AMX; docs/performance.md). The SAM graphs and GEM gained 1.0-1.3x.
INT8_DEFAULT = ('clip_trunk', 'clip_head_g2l', 'clip_head_l2g', 'clip_head_g2l_l2g', 'clip_head_token_masking',
                'clip_head_attn_masking', 'clip_head_crop')


def find_vocab(explicit):
    if explicit:
        return explicit
    for pkg in ('clip', 'open_clip'):
        try:
            mod = __import__(pkg)
        except ImportError:
            continue
        path = os.path.join(os.path.dirname(mod.__file__), 'bpe_simple_vocab_16e6.txt.gz')
        if os.path.exists(path):
            return path
    return None


def load_checkpoints(args):
    if args.random_init:
        clip_cfg = dict(wt.CLIP_TINY if args.tiny else FULL_CLIP)
        sam_cfg = wt.sam_config(args.sam_arch, args.tiny)
        clip_state = wt.random_clip_state(clip_cfg, args.seed)
        sam_state = wt.random_sam_state(sm.SamImageEncoder(sam_cfg), sm.SamPromptDecoder(sam_cfg), args.seed + 1)
        return sam_cfg, sam_state, 'random-init', clip_cfg, clip_state, 'random-init'
    if not (args.sam_checkpoint and args.clip_checkpoint):
        sys.exit('export.py: give --sam-checkpoint and --clip-checkpoint, or --random-init')
    sam_state = torch.load(args.sam_checkpoint, map_location='cpu')
    try:
        clip_state = torch.jit.load(args.clip_checkpoint, map_location='cpu').state_dict()
    except RuntimeError:  # a plain state_dict file
        clip_state = torch.load(args.clip_checkpoint, map_location='cpu')
    clip_state = {k: v.float() for k, v in clip_state.items()}
    clip_cfg = dict(wt.CLIP_TINY) if args.tiny else wt.clip_config_from_state(clip_state)  # tiny: heads ≠ width/64
    return (wt.sam_config(args.sam_arch, args.tiny), sam_state, sha256_file(args.sam_checkpoint), clip_cfg, clip_state,
            sha256_file(args.clip_checkpoint))


# ViT-B/16 as released: used to shape random full-size weights.
FULL_CLIP = dict(wt.CLIP_COMMON, embed_dim=512, image_resolution=224, vision_width=768, vision_layers=12,
                 vision_patch_size=16, vision_heads=12, context_length=77, vocab_size=49408, transformer_width=512,
                 transformer_heads=8, transformer_layers=12)


def reference_cases(models):
    """Fixed inputs (patterns the TS test regenerates, or small literal arrays) and the PyTorch outputs."""
    sam, clip = models.sam_cfg, models.clip_cfg
    m = models.modules
    size, c = sam['image_size'], sam['prompt_embed_dim']
    grid = size // sam['patch_size']
    res, g = clip['image_resolution'], clip['image_resolution'] // clip['vision_patch_size']
    points = [[[100.0, 200.0], [700.5, 33.25]]]
    labels = [[1.0, 0.0]]
    ids = [[49406, 320, 1125, 539, 320, 2368, 49407] + [0] * 70, [49406, 1929, 525, 49407] + [0] * 73]
    cases = []
    with torch.no_grad():
        pixels = pattern([1, 3, size, size], 1)
        cases.append(('sam_encoder', {'pixels': {'pattern': 1, 'shape': [1, 3, size, size]}},
                      {'embeddings': m['sam_encoder'](pixels)}))
        emb = pattern([1, c, grid, grid], 2)
        masks, iou = m['sam_decoder'](emb, torch.tensor(points), torch.tensor(labels))
        cases.append(('sam_decoder', {'embeddings': {'pattern': 2, 'shape': [1, c, grid, grid]},
                                      'points': {'values': points}, 'labels': {'values': labels}},
                      {'low_res_logits': masks, 'iou_predictions': iou}))
        images = pattern([4, 3, res, res], 3)
        tokens = m['clip_trunk'](images)
        cases.append(('clip_trunk', {'images': {'pattern': 3, 'shape': [4, 3, res, res]}}, {'tokens': tokens}))
        mask_grid = mask_pattern([2, g, g], 4)
        local, global_ = tokens[:2], tokens[2:]
        tok_in = {'tokens': {'output_of': 'clip_trunk', 'rows': [0, 2]}}
        mg = {'mask_grid': {'maskPattern': 4, 'levels': 5, 'shape': [2, g, g]}}
        for fusion, name in HEAD_FILES.items():
            if fusion in ('G2L', 'L2G', 'G2L&L2G'):
                inputs = {'local': {'output_of': 'clip_trunk', 'rows': [0, 2]},
                          'global': {'output_of': 'clip_trunk', 'rows': [2, 4]}, **mg}
                out = m[name](local, global_, mask_grid)
            elif fusion == 'crop':
                inputs, out = tok_in, m[name](local)
            else:
                inputs, out = {**tok_in, **mg}, m[name](local, mask_grid)
            cases.append((name, inputs, {'features': out}))
        cases.append(('clip_text', {'ids': {'values': ids}}, {'features': m['clip_text'](torch.tensor(ids))}))
        gem_images = pattern([1, 3, clip['gem_resolution'], clip['gem_resolution']], 5)
        cases.append(('gem_visual', {'images': {'pattern': 5, 'shape': list(gem_images.shape)}},
                      {'patch_features': m['gem_visual'](gem_images)}))
    return cases


class TemplateWriter:
    """--templates: beside each exported file, its weight-free template (hybridgl_export/templates.py), in one
    directory per family (sam-<arch>, clip-<name>) so that any SAM template set combines with the CLIP one. Each
    model is exported a second time from other random weights (seed `other_seed`) to prove its templates: every
    recipe rebuilds that export too, and every float initializer left in a template is the same in both."""

    def __init__(self, root, models, sam_state, clip_state, other_seed):
        from hybridgl_export import templates as tp
        self.tp, self.models, self.other_seed = tp, models, other_seed
        self.made = {}
        self.sources = tp.source_maps(models, sam_state, clip_state)
        self.dirs = dict(zip(('sam', 'clip'), tp.template_dirs(root, models.sam_cfg)))
        self.entries, self.fp32 = {'sam': [], 'clip': []}, {}
        for d in self.dirs.values():
            os.makedirs(d, exist_ok=True)

    def add(self, name, precision, path):
        family = 'sam' if name.startswith('sam_') else 'clip'
        template, recipes, constants = self.tp.write_template(path, self.dirs[family], self.models.modules[name],
                                                              self.sources[name], self.fp32.get(name))
        if precision == 'fp32':
            self.fp32[name] = recipes
        self.made[name, precision] = recipes, constants
        self.entries[family].append(dict(name=os.path.basename(path), model=name, precision=precision,
                                         template=template, initializers=recipes, constants=sorted(constants),
                                         **self.models.specs[name]))

    def check(self, name, paths, external_above):
        """Exports `name` again from other random weights and checks its templates against that export."""
        module = self.tp.other_weights(self.models.modules[name], self.sources[name], self.other_seed,
                                       cm.resample_positional_embedding)
        scratch = paths['fp32'] + '.other'
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        try:
            other = {'fp32': os.path.join(scratch, os.path.basename(paths['fp32']))}
            print(f'exporting {name} from other weights (seed {self.other_seed}) to check its templates',
                  file=sys.stderr)
            export_onnx(module, self.models.specs[name], other['fp32'], external_above)
            for precision, write in VARIANT_WRITERS.items():
                if precision in paths:
                    other[precision] = os.path.join(scratch, os.path.basename(paths[precision]))
                    write(other['fp32'], other[precision], self.models.specs[name], external_above)
            for precision, path in other.items():
                recipes, constants = self.made[name, precision]
                template = os.path.join(self.dirs['sam' if name.startswith('sam_') else 'clip'],
                                        os.path.basename(paths[precision]) + '.template')
                self.tp.check_template(template, path, module, self.sources[name], recipes, constants)
        finally:
            shutil.rmtree(scratch)

    def finish(self, manifest):
        for family, config in (('sam', self.models.sam_cfg), ('clip', self.models.clip_cfg)):
            if not self.entries[family]:
                continue  # --only left this family out: keep its existing index
            # --only some of a family's models: the index keeps the entries of the others as they were.
            made = {e['model'] for e in self.entries[family]}
            kept = [e for e in self.tp.read_index(self.dirs[family]) if e['model'] not in made]
            self.tp.write_index(self.dirs[family], family, config, kept + self.entries[family],
                                {**manifest['exporter'], 'checkpoint': manifest['sources'][family]})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--sam-checkpoint', help='sam_vit_{h,l,b}_*.pth (segment-anything state_dict)')
    ap.add_argument('--clip-checkpoint', help='OpenAI ViT-B-16.pt (TorchScript archive) or a state_dict file')
    ap.add_argument('--sam-arch', default='vit_h', choices=sorted(wt.SAM_ARCHS))
    ap.add_argument('--out', required=True, help='output directory')
    ap.add_argument('--fp16', nargs='?', const='all', metavar='MODELS',
                    help='also write fp16 models (fp32 inputs/outputs; needs the onnx package): all, or a '
                         'comma-separated list of model names')
    ap.add_argument('--int8', nargs='?', const='default', metavar='MODELS',
                    help='also write int8 models for the CPU provider (DynamicQuantizeMatMul; needs the onnx '
                         'package): with no list the CLIP trunk and heads, else all or a comma-separated list')
    ap.add_argument('--random-init', action='store_true', help='random weights instead of checkpoints')
    ap.add_argument('--tiny', action='store_true',
                    help='small configurations, same input geometry (random weights, or checkpoints made so)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--vocab', help='bpe_simple_vocab_16e6.txt.gz (default: from an installed clip/open_clip)')
    ap.add_argument('--no-copy-vocab', action='store_true', help='record the vocabulary as absent (test fixtures)')
    ap.add_argument('--reference', action='store_true',
                    help='also write reference.json/.bin: PyTorch outputs for fixed inputs')
    ap.add_argument('--only', help='comma-separated model names to export (default: all)')
    ap.add_argument('--templates', metavar='DIR',
                    help='also write weight-free graph templates for `hybridgl models convert` (needs onnx)')
    ap.add_argument('--external-data-above', type=int, default=EXTERNAL_DATA_ABOVE, metavar='BYTES',
                    help='graphs whose initializers hold more bytes keep them in <file>.data (ONNX external data); '
                         'default 2 GiB less 16 MiB (protobuf cannot hold more)')
    args = ap.parse_args(argv)
    for flag in ('fp16', 'int8'):
        if getattr(args, flag):
            try:
                import onnx  # noqa: F401
            except ImportError:
                ap.error(f'--{flag} needs the onnx Python package (Debian: apt-get install python3-onnx)')
    int8 = INT8_DEFAULT if args.int8 == 'default' else args.int8.split(',') if args.int8 else ()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)

    sam_cfg, sam_state, sam_src, clip_cfg, clip_state, clip_src = load_checkpoints(args)
    models = Models(sam_cfg, sam_state, clip_cfg, clip_state)
    if int8 == ['all']:
        int8 = tuple(models.modules)
    unknown = [m for m in int8 if m not in models.modules]
    if unknown:
        ap.error(f'--int8: no model {unknown[0]} (the models: {", ".join(models.modules)})')
    only = set(args.only.split(',')) if args.only else None
    files = []
    templates = (TemplateWriter(args.templates, models, sam_state, clip_state, args.seed + TEMPLATE_CHECK_SEED)
                 if args.templates else None)
    del sam_state  # the modules hold their own copies (vit_h: 2.5 GB less at peak)
    for name, module in models.modules.items():
        if only and name not in only:
            continue
        fp32_path = os.path.join(args.out, f'{name}.fp32.onnx')
        print(f'exporting {name}', file=sys.stderr)
        export_onnx(module, models.specs[name], fp32_path, args.external_data_above)
        paths = {'fp32': fp32_path}
        wanted = {'fp16': args.fp16 and (args.fp16 == 'all' or name in args.fp16.split(',')), 'int8': name in int8}
        for precision, write in VARIANT_WRITERS.items():
            if wanted[precision]:
                paths[precision] = os.path.join(args.out, f'{name}.{precision}.onnx')
                write(fp32_path, paths[precision], models.specs[name], args.external_data_above)
        for precision, path in paths.items():
            entry = dict(name=os.path.basename(path), model=name, precision=precision, sha256=sha256_file(path),
                         bytes=os.path.getsize(path), **models.specs[name])
            data = external_data_path(path)
            if os.path.exists(data):
                entry['externalData'] = dict(name=os.path.basename(data), sha256=sha256_file(data),
                                             bytes=os.path.getsize(data))
            files.append(entry)
            if templates:
                templates.add(name, precision, path)
        if templates:
            templates.check(name, paths, args.external_data_above)

    vocab_src = find_vocab(args.vocab)
    vocab = {'file': 'bpe_simple_vocab_16e6.txt.gz', 'present': False}
    if vocab_src:
        with gzip.open(vocab_src) as f:
            f.read(16)  # a gzip file, not something else by that name
        vocab['sha256'] = sha256_file(vocab_src)
        if not args.no_copy_vocab:
            shutil.copyfile(vocab_src, os.path.join(args.out, vocab['file']))
            vocab['present'] = True
    else:
        print('export.py: no tokenizer vocabulary found (give --vocab); the manifest records it as absent',
              file=sys.stderr)

    manifest = {
        'format': 'hybridgl-models', 'formatVersion': 1,
        'exporter': {'name': 'models/export.py', 'version': EXPORTER_VERSION, 'torch': torch.__version__,
                     'opset': OPSET, 'command': ' '.join(['python3', 'models/export.py'] + (argv or sys.argv[1:]))},
        'sources': {'sam': {'checkpoint': os.path.basename(args.sam_checkpoint or '') or None, 'sha256': sam_src},
                    'clip': {'checkpoint': os.path.basename(args.clip_checkpoint or '') or None, 'sha256': clip_src}},
        'config': {'sam': sam_cfg, 'clip': clip_cfg},
        'logitScale': float(clip_state['logit_scale'].float().exp()),
        'vocab': vocab,
        'files': files,
    }
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    if args.reference:
        write_reference(args.out, reference_cases(models))
    if templates:
        templates.finish(manifest)
    print(f'wrote {len(files)} models to {args.out}', file=sys.stderr)


if __name__ == '__main__':
    main()
