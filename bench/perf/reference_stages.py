#!/usr/bin/env python3
# Times each stage of the reference on one photo (run it as below, or through bench/perf/side_by_side.sh, whose
# reference half it is): the reference's own modules (segment-anything's
# SamAutomaticMaskGenerator, HybridGL's CLIPViTFM on its modified CLIP, GEM on open_clip), built by
# scripts/fixtures/make_e2e_reference.py's functions on the full-size random weights it exports to /work/fullsize/models
# (same seeds, same structured SAM edit), run through Hybridgl_main.py's per-image loop on one photo with fixed parses;
# each stage timed (wall clock, ms). Nothing of the reference is in this file: it is imported from the paths given.
#
#   LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 bench/perf/reference_stages.py \
#     --hybridgl REF/HybridGL --gem REF/GEM --open-clip REF/open_clip/src --image dog.jpg --json ref.json
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'fixtures'))
import make_e2e_reference as e2e  # noqa: E402


class Clock:
    """Milliseconds per stage name, summed over the calls of one image."""

    def __init__(self):
        self.ms = {}

    def add(self, name, seconds):
        self.ms[name] = self.ms.get(name, 0.0) + 1000 * seconds

    @contextmanager
    def stage(self, name):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def around(self, module, name):
        """Times every forward call of module (hooks: the reference's own call sites stay as they are)."""
        start = []
        module.register_forward_pre_hook(lambda m, i: start.append(time.perf_counter()))
        module.register_forward_hook(lambda m, i, o: self.add(name, time.perf_counter() - start.pop()))


def build(args, clock):
    shims = tempfile.mkdtemp(prefix='ref_stage_shims_')
    e2e.write_shims(shims)
    sys.path[:0] = [shims, os.path.join(ROOT, 'models'), args.open_clip, args.gem,
                    os.path.join(args.hybridgl, 'third_party/segment-anything'),
                    os.path.join(args.hybridgl, 'third_party/modified_CLIP'), args.hybridgl]
    torch.set_grad_enabled(False)
    from hybridgl_export import sam_modules as sm, weights as wt
    import export
    from segment_anything import SamAutomaticMaskGenerator

    clip_cfg, sam_cfg = dict(export.FULL_CLIP), wt.sam_config('vit_b', False)
    clip_state = wt.random_clip_state(clip_cfg, 0)
    sam_state = e2e.structured_sam_state(wt.random_sam_state(sm.SamImageEncoder(sam_cfg), sm.SamPromptDecoder(sam_cfg), 1),
                                         sam_cfg, **e2e.STRUCTURED_SAM)
    sam = e2e.build_reference_sam(sam_cfg)
    sam.load_state_dict(sam_state, strict=True)
    clock.around(sam.image_encoder, 'samEncoder')
    clock.around(sam.mask_decoder, 'samDecoder')
    gen = SamAutomaticMaskGenerator(sam, points_per_side=8, pred_iou_thresh=0.7, stability_score_thresh=0.7,
                                    crop_n_layers=0, crop_n_points_downscale_factor=1, min_mask_region_area=800)
    fm = e2e.build_reference_clipfm(clip_cfg, clip_state)
    gem_model = e2e.build_reference_gem(clip_cfg, clip_state)
    clock.around(gem_model.model.visual, 'gemVisual')
    return gen, fm, gem_model, clip_cfg


def run_image(path, expressions, gen, fm, gem_model, clip_cfg, clock):
    """Hybridgl_main.py's loop body for one image (parses given instead of spaCy's), each stage in clock."""
    import cv2
    import torchvision.transforms as T
    from PIL import Image
    import clip
    import gem
    from utils import gen_dir_mask, relation_boxes

    t_image = time.perf_counter()
    with clock.stage('decode'):
        pil = Image.open(path).convert('RGB')
        sam_img = np.array(pil)
        H, W = sam_img.shape[:2]
        original_img = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(T.ToTensor()(pil))[None]
        tensor_img = gem.get_gem_img_transform()(pil)[None]
    with clock.stage('samGenerate'):
        sam_masks = gen.generate(sam_img)
        masks = torch.stack([torch.tensor(m['segmentation']) for m in sam_masks])
        boxes = torch.tensor([m['bbox'] for m in sam_masks])
    with clock.stage('clipInputs'):
        pixel_mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).reshape(1, 3, 1, 1)
        blurred = cv2.GaussianBlur(sam_img.copy(), (15, 15), 0)
        global_imgs, local_imgs = [], []
        for pred_mask in masks:
            pm = pred_mask.type(torch.uint8)
            mask = pm.numpy()
            sharp = cv2.bitwise_and(sam_img, sam_img, mask=np.clip(mask, 0, 255).astype(np.uint8))
            g = T.ToTensor()(cv2.add(sharp, (blurred * (1 - mask)[:, :, None]).astype(np.uint8)))
            global_imgs.append(T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(T.Resize((224, 224), antialias=None)(g)))
            local = original_img * pm[None, None] + (1 - pm[None, None]) * pixel_mean
            local_imgs.append(T.Resize((224, 224), antialias=None)(local.squeeze(0)).squeeze(0))
        global_imgs, local_imgs = torch.stack(global_imgs), torch.stack(local_imgs)
    with clock.stage('hybridFeatures'):
        visual_feature = fm(local_imgs=local_imgs, global_imgs=global_imgs, pred_masks=masks, fusion_mode='G2L',
                            masking_block=9)
    softmax0 = torch.nn.Softmax(0)
    r, alpha = 0.5, 0.6
    for e in expressions:
        k1, k2 = 3, 6
        t_expr = time.perf_counter()
        with clock.stage('text'):
            sentence_features = fm.model.encode_text(clip.tokenize(e['sentence']))
            noun_phrase_features = fm.model.encode_text(clip.tokenize(e['noun_phrase']))
            other = torch.zeros(1, clip_cfg['embed_dim'])
            for o in e['other_noun_phrases']:
                other += fm.model.encode_text(clip.tokenize('a photo of ' + o))
            if e['other_noun_phrases']:
                other = other / len(e['other_noun_phrases'])
        text_ms = 1000 * (time.perf_counter() - t_expr)
        score_clip = fm.calculate_score(visual_feature, r * sentence_features + (1 - r) * noun_phrase_features)
        score_neg = fm.calculate_score(visual_feature, other)
        p, q = softmax0(score_clip), softmax0(score_neg)
        k1, k2 = min(k1, len(p)), min(k2, len(q))
        _, maxidxs = torch.topk(p.view(-1), k=k1)
        _, max_neg_idxs = torch.topk(q.view(-1), k=k2)
        topscores = np.zeros(k1)
        partners, weights = (maxidxs, p) if len(e['nouns']) == 0 else (max_neg_idxs, q)
        for i in range(k1):
            for j in partners:
                topscores[i] += relation_boxes(boxes[maxidxs[i]], boxes[j], p[maxidxs[i]][0], weights[j][0], e['relaflag'])
        topscores = softmax0(torch.Tensor(topscores))
        t_gem = time.perf_counter()
        imgattn = gem_model(tensor_img, [e['noun_phrase']])[0]
        clock.add('gemCall', time.perf_counter() - t_gem)
        imgattn = T.Resize((H, W), antialias=True)(imgattn)[0]
        imgattn = (imgattn - imgattn.min()) / (imgattn.max() - imgattn.min())
        imgattn = imgattn * gen_dir_mask(e['dirflag'], imgattn.shape[0], imgattn.shape[1], None)
        imgattn = imgattn / imgattn.mean()
        black = {'big': 1.95, 'small': 1.5}.get(e['relaflag'], 1.8)
        score_gem = []
        for pred_mask in masks:
            pm = pred_mask.type(torch.uint8)
            s = (imgattn * (2 - black) * pm / (pm.sum())).sum() - (imgattn * black * (1 - pm) / ((1 - pm).sum())).sum()
            score_gem.append(torch.Tensor([s]))
        score_gem = torch.stack(score_gem, dim=0)
        for i in range(k1):
            topscores[i] = topscores[i] * (1 - alpha) + alpha * score_gem[maxidxs[i]][0]
        int(maxidxs[torch.argmax(topscores)])
        clock.add('expression', time.perf_counter() - t_expr)
    clock.add('total', time.perf_counter() - t_image)
    return len(sam_masks)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--hybridgl', required=True, help='checkout of fhgyuanshen/HybridGL')
    ap.add_argument('--gem', required=True, help='checkout of WalBouss/GEM')
    ap.add_argument('--open-clip', required=True, help='src/ of mlfoundations/open_clip v2.24.0')
    ap.add_argument('--image', default='/work/shared/data/images/dog.jpg')
    ap.add_argument('--expressions', default=os.path.join(ROOT, 'scripts/fixtures/full_size_expressions.json'),
                    help='JSON: {photo name: [expression with fixed parse, ...]}')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iterations', type=int, default=1, help='images timed (the median of each stage is kept)')
    ap.add_argument('--warmup', type=int, default=0)
    ap.add_argument('--json', required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.expressions) as f:
        expressions = json.load(f)[os.path.basename(args.image)]
    clock = Clock()
    t0 = time.perf_counter()
    gen, fm, gem_model, clip_cfg = build(args, clock)
    build_ms = 1000 * (time.perf_counter() - t0)
    runs = []
    for it in range(args.warmup + args.iterations):
        clock.ms = {}
        proposals = run_image(args.image, expressions, gen, fm, gem_model, clip_cfg, clock)
        ms = dict(clock.ms)
        # The GEM wrapper's call = its visual pass + its prompt's text encoding + the heat map; the rest of an
        # expression after the text features is scoring (CLIP scores, relation, coherence).
        ms['gemRest'] = ms['gemCall'] - ms['gemVisual']
        ms['scoring'] = ms['expression'] - ms['text'] - ms['gemCall']
        ms['samRest'] = ms['samGenerate'] - ms['samEncoder'] - ms['samDecoder']
        print(f'iteration {it + 1}/{args.warmup + args.iterations}{" (warm-up)" if it < args.warmup else ""}: '
              f'{proposals} proposals, {ms["total"] / 1000:.1f} s', file=sys.stderr)
        if it >= args.warmup:
            runs.append(ms)
    stages = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out = {'image': os.path.basename(args.image), 'proposals': proposals, 'expressions': len(expressions),
           'threads': args.threads, 'torch': torch.__version__, 'iterations': args.iterations, 'warmup': args.warmup,
           'buildMs': build_ms, 'peakRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           'stagesMs': stages, 'runs': runs}
    with open(args.json, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
