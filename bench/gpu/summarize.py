#!/usr/bin/env python3
# Joins what scripts/gpu-check.sh measured (kernel tests, self-test, kernel bench, backbones) into gpu-check.json
# and a markdown table, with the projected time of RefCOCO val (unc: 1,500 images, 10,834 sentences) on this GPU.
# usage: python3 bench/gpu/summarize.py OUTDIR   (scripts/gpu-check.sh runs it on its OUTDIR)
import json
import os
import re
import sys

REFCOCO_VAL = dict(images=1500, sentences=10834)
# Kernel work of one image at N = 40 proposals (the kernel bench's --refcoco rows).
PER_IMAGE_KERNELS = [('sam upscale+threshold', '64x3'), ('rle encode', '40x'), ('mask grid 14×14', '40x'),
                     ('heatmap mask sums', '40x'), ('clip inputs 224²', '40x'), ('gaussian blur 15×15', '480x640'),
                     ('Pillow bilinear → 1024', '960x1280'), ('Pillow bicubic → 448', '480x640')]
PER_IMAGE_BACKBONES = ['sam_decoder_64[{sam}]', 'sam_encoder[{sam}]', 'clip_trunk_2n', 'clip_head_g2l_n', 'gem_visual']


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def kernel_tests(path):
    if not os.path.exists(path):
        return None
    text = open(path).read()
    m = re.search(r'(\d+) passed, (\d+) failed, (\d+) skipped', text)
    fails = [line for line in text.splitlines() if line.startswith('FAIL')]
    return dict(passed=int(m[1]), failed=int(m[2]), skipped=int(m[3]), failures=fails) if m else dict(error='no summary line')


def main(out):
    bench, backbones = load(os.path.join(out, 'kernel_bench.json')), load(os.path.join(out, 'backbones.json'))
    result = dict(kernel_tests=kernel_tests(os.path.join(out, 'logs', 'kernel_tests.log')),
                  selftest=load(os.path.join(out, 'selftest.json')), kernel_bench=bench, backbones=backbones)
    md = ['# gpu-check', '']
    kt = result['kernel_tests']
    md.append(f"kernel_tests: {kt}" if kt else 'kernel_tests: not run')
    st = result['selftest']
    if st:
        md += ['', f"self-test on {st['device']}:", '', '| family | backend | result | ms | detail |', '| --- | --- | --- | --- | --- |']
        md += [f"| {r['family']} | {r['backend']} | {r['result']} | {r['ms']:.2f} | {r['detail']} |" for r in st['families']]
    kernel_ms = 0.0
    if bench:
        c = bench['copyGBps']
        md += ['', f"kernel bench on {bench['device']}; copy GB/s: device→device {c['deviceToDevice']}, "
               f"host→device {c['hostToDevice']}, device→host {c['deviceToHost']} (CUDA times include the copies)", '',
               '| op | size | cpu ms | cpu GB/s | cuda ms | cuda GB/s |', '| --- | --- | --- | --- | --- | --- |']
        for r in bench['rows']:
            md.append(f"| {r['op']} | {r['size']} | {r['cpuMs']:.3f} | {r['cpuGBps']:.2f} | "
                      f"{r.get('cudaMs', float('nan')):.3f} | {r.get('cudaGBps', float('nan')):.2f} |")
        for op, size in PER_IMAGE_KERNELS:
            hit = [r for r in bench['rows'] if r['op'] == op and r['size'].startswith(size)]
            if hit:
                kernel_ms += hit[-1].get('cudaMs', hit[-1]['cpuMs'])
    if backbones:
        times = {(r['stage'], r['precision']): r['ms'] for r in backbones['rows']}
        md += ['', f"backbones on {backbones['device']} (torch {backbones['torch']}, N = {backbones['proposals']}, "
               f"text batch {backbones['texts']}{', TINY configs' if backbones['tiny'] else ''}):", '',
               '| stage | fp32 ms | bf16 ms |', '| --- | --- | --- |']
        for stage in dict.fromkeys(r['stage'] for r in backbones['rows']):
            md.append(f"| {stage} | {times.get((stage, 'fp32'), float('nan')):.2f} | {times.get((stage, 'bf16'), float('nan')):.2f} |")
        projection = []
        for sam in ('vit_h', 'vit_b'):
            for precision in ('fp32', 'bf16'):
                names = [s.format(sam=sam) for s in PER_IMAGE_BACKBONES]
                if not all((n, precision) in times for n in names) or ('clip_text', precision) not in times:
                    continue
                image_ms = sum(times[(n, precision)] for n in names) + kernel_ms
                sentence_ms = times[('clip_text', precision)] / backbones['texts']
                total_s = (REFCOCO_VAL['images'] * image_ms + REFCOCO_VAL['sentences'] * sentence_ms) / 1000
                projection.append(dict(sam=sam, precision=precision, image_ms=round(image_ms, 2),
                                       sentence_ms=round(sentence_ms, 3), refcoco_val_s=round(total_s, 1)))
        result['projection'] = dict(refcoco_val=REFCOCO_VAL, kernel_ms_per_image=round(kernel_ms, 3), rows=projection,
                                    note='backbone and kernel stage times summed; excludes decode, host-side glue '
                                         'and the text parser; N = backbones.proposals for the CLIP stages, 40 '
                                         'masks for the kernels')
        md += ['', f'projected RefCOCO val ({REFCOCO_VAL["images"]} images, {REFCOCO_VAL["sentences"]} sentences), '
               f'one GPU, stage times summed (kernels {kernel_ms:.1f} ms per image):', '',
               '| SAM | precision | ms per image | ms per sentence | RefCOCO val |', '| --- | --- | --- | --- | --- |']
        md += [f"| {p['sam']} | {p['precision']} | {p['image_ms']:.1f} | {p['sentence_ms']:.2f} | "
               f"{p['refcoco_val_s'] / 60:.1f} min |" for p in projection]
    with open(os.path.join(out, 'gpu-check.json'), 'w') as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(out, 'gpu-check.md'), 'w') as f:
        f.write('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main(sys.argv[1])
