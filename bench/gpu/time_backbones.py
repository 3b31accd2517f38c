#!/usr/bin/env python3
# Times the backbones' PyTorch modules (models/hybridgl_export, random weights of the real architectures) at the
# shapes one RefCOCO image needs: SAM encoder (vit_h, vit_b) on 1×3×1024², SAM decoder on 64 points, CLIP trunk on
# 2N images of 224² and the G2L head on N masks, the text encoder on a batch of expressions, GEM on 1×3×448².
# fp32 (TF32 off: the reference's arithmetic) and bf16 (autocast). CUDA events on a GPU, wall clock on the CPU.
# Writes backbones.json to --out. `--tiny --device cpu --iterations 1` is the dry run of this script.
# usage: python3 bench/gpu/time_backbones.py --out DIR [--device cuda|cpu] [--sam vit_h,vit_b] [--iterations 10]
#   (scripts/gpu-check.sh runs it)
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
from hybridgl_export import clip_modules as cm  # noqa: E402
from hybridgl_export import sam_modules as sm  # noqa: E402
from hybridgl_export import weights as wt  # noqa: E402
from export import FULL_CLIP, Models  # noqa: E402


def timer(device, iterations, warmup):
    def run(fn):
        with torch.inference_mode():
            for _ in range(warmup):
                fn()
            times = []
            for _ in range(iterations):
                if device.type == 'cuda':
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    fn()
                    end.record()
                    torch.cuda.synchronize()
                    times.append(start.elapsed_time(end))
                else:
                    t0 = time.perf_counter()
                    fn()
                    times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return times[len(times) // 2]
    return run


def stages(models, sam_cfg, clip_cfg, n, texts, device):
    """(name, module, inputs) for each timed stage; inputs are built on the device."""
    grid = sam_cfg['image_size'] // sam_cfg['patch_size']
    c = sam_cfg['prompt_embed_dim']
    res, g = clip_cfg['image_resolution'], clip_cfg['image_resolution'] // clip_cfg['vision_patch_size']
    d, gem = clip_cfg['vision_width'], clip_cfg['gem_resolution']
    gen = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.rand(*shape, generator=gen).to(device)  # noqa: E731
    points = (r(64, 1, 2) * sam_cfg['image_size'])
    return [
        ('sam_encoder', models.modules['sam_encoder'], (r(1, 3, sam_cfg['image_size'], sam_cfg['image_size']),)),
        ('sam_decoder_64', models.modules['sam_decoder'], (r(1, c, grid, grid), points, torch.ones(64, 1, device=device))),
        ('clip_trunk_2n', models.modules['clip_trunk'], (r(2 * n, 3, res, res),)),
        ('clip_head_g2l_n', models.modules['clip_head_g2l'], (r(n, g * g + 1, d), r(n, g * g + 1, d), r(n, g, g))),
        ('clip_text', models.modules['clip_text'],
         (torch.randint(1, 49000, (texts, clip_cfg['context_length']), generator=gen).to(device),)),
        ('gem_visual', models.modules['gem_visual'], (r(1, 3, gem, gem),)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--sam', default='vit_h,vit_b', help='SAM encoders to time, comma-separated')
    ap.add_argument('--proposals', type=int, default=30, help='N: the CLIP trunk runs on 2N images, the head on N')
    ap.add_argument('--texts', type=int, default=3, help='expressions per text-encoder call')
    ap.add_argument('--iterations', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--tiny', action='store_true', help='tiny configs (the dry run)')
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit('time_backbones.py: no CUDA device (use --device cpu)')
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    clip_cfg = dict(wt.CLIP_TINY if args.tiny else FULL_CLIP)
    clip_state = wt.random_clip_state(clip_cfg, 1)
    run = timer(device, args.iterations, args.warmup)
    rows = []
    for i, arch in enumerate(a for a in args.sam.split(',') if a):
        sam_cfg = wt.sam_config(arch, args.tiny)
        sam_state = wt.random_sam_state(sm.SamImageEncoder(sam_cfg), sm.SamPromptDecoder(sam_cfg), 2)
        models = Models(sam_cfg, sam_state, clip_cfg, clip_state)
        for m in models.modules.values():
            m.to(device)
        for name, module, inputs in stages(models, sam_cfg, clip_cfg, args.proposals, args.texts, device):
            if i > 0 and not name.startswith('sam_'):
                continue  # the CLIP stages do not depend on the SAM architecture
            label = f'{name}[{arch}]' if name.startswith('sam_') else name
            for precision in ('fp32', 'bf16'):
                def fn():
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == 'bf16'):
                        module(*inputs)
                ms = run(fn)
                rows.append(dict(stage=label, precision=precision, ms=round(ms, 3)))
                print(f'{label:28s} {precision:5s} {ms:10.2f} ms', flush=True)
        del models
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    out = dict(device=torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
               torch=torch.__version__, tiny=args.tiny, proposals=args.proposals, texts=args.texts,
               iterations=args.iterations, rows=rows)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'backbones.json'), 'w') as f:
        json.dump(out, f, indent=2)


if __name__ == '__main__':
    main()
