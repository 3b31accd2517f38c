#!/usr/bin/env python3
# Writes reduced-precision variants of exported fp32 graphs, for measuring ONNX Runtime's CPU provider on them (timing
# and agreement: bench/perf/precision_run.ts). Run: the usage line below. Measurement only: the product needs no Python.
#   int8-dqmm   models/hybridgl_export/int8.py, what `--precision int8` ships: each MatMul with a constant 2-D
#               weight -> com.microsoft DynamicQuantizeMatMul (activations quantised per tensor at run time, uint8;
#               weights int8 per output column, symmetric; a following constant bias Add folded in)
#   int8-dqmm7  the same with 7-bit weights (|q| <= 63: no int16 saturation in AVX2's u8 x s8 products)
#   int8-mmi    DynamicQuantizeLinear + MatMulInteger (uint8 weights per column, zero point 128) + Cast + Mul
#               (the standard-ONNX form; ORT may fuse it back into DynamicQuantizeMatMul)
#   fp16        models/hybridgl_export/fp16.py, i.e. what `export.py --fp16` / `models convert --precision fp16` write
#   bf16        the same conversion to bfloat16
# usage: /usr/bin/python3 bench/perf/precision_variants.py OUT_DIR MODEL.fp32.onnx... [--variants int8-dqmm,fp16]
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
from hybridgl_export import fp16 as fp16_module, int8 as int8_module  # noqa: E402

VARIANTS = ('int8-dqmm', 'int8-dqmm7', 'int8-mmi', 'fp16', 'bf16')


def constant_weights(graph):
    # Initializers by name, Identity outputs of initializers included (the exporter shares a weight that way).
    inits = {i.name: i for i in graph.initializer}
    for node in graph.node:
        if node.op_type == 'Identity' and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
    return inits


def quantize_mmi(model):
    graph = model.graph
    inits = constant_weights(graph)
    nodes, new_inits, count, done = [], [], 0, set()
    for node in graph.node:
        w = inits.get(node.input[1]) if node.op_type == 'MatMul' else None
        if w is None or len(w.dims) != 2 or w.data_type != TensorProto.FLOAT:
            nodes.append(node)
            continue
        base, x, y = w.name, node.input[0], node.output[0]
        if base not in done:
            q, scale = int8_module.quantize_per_column(numpy_helper.to_array(w))
            new_inits += [numpy_helper.from_array((q.astype(np.int16) + 128).astype(np.uint8), base + '/q'),
                          numpy_helper.from_array(np.full(q.shape[1], 128, np.uint8), base + '/zp'),
                          numpy_helper.from_array(scale, base + '/scale')]
            done.add(base)
        nodes += [
            helper.make_node('DynamicQuantizeLinear', [x], [y + '/xq', y + '/xs', y + '/xzp']),
            helper.make_node('MatMulInteger', [y + '/xq', base + '/q', y + '/xzp', base + '/zp'], [y + '/i32']),
            helper.make_node('Cast', [y + '/i32'], [y + '/f32'], to=TensorProto.FLOAT),
            helper.make_node('Mul', [y + '/xs', base + '/scale'], [y + '/s']),
            helper.make_node('Mul', [y + '/f32', y + '/s'], [y]),
        ]
        count += 1
    finish(model, nodes, new_inits)
    return count


def finish(model, nodes, new_inits):
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(new_inits)
    int8_module.finish_graph(model)


def to_bf16(model):
    # fp16.py's conversion with bfloat16 in place of float16 (the same Casts, LayerNormalization kept fp32).
    def bf16_tensor(t):
        a = numpy_helper.to_array(t).astype(np.float32)
        bits = ((a.view(np.uint32) + 0x7FFF + ((a.view(np.uint32) >> 16) & 1)) >> 16).astype(np.uint16)
        out = TensorProto(name=t.name, data_type=TensorProto.BFLOAT16, dims=list(t.dims))
        out.raw_data = bits.tobytes()
        return out
    saved = fp16_module._to_fp16, fp16_module.TensorProto
    fp16_module._to_fp16 = bf16_tensor

    class Proto:
        FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.BFLOAT16
    fp16_module.TensorProto = Proto
    try:
        return fp16_module.convert_to_fp16(model)
    finally:
        fp16_module._to_fp16, fp16_module.TensorProto = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('models', nargs='+')
    ap.add_argument('--variants', default=','.join(VARIANTS))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for path in args.models:
        stem = os.path.basename(path).replace('.fp32.onnx', '')
        for variant in args.variants.split(','):
            if variant not in VARIANTS:
                ap.error(f'unknown variant {variant}')
            model = onnx.load(path)
            if variant == 'fp16':
                model, note = fp16_module.convert_to_fp16(model), ''
            elif variant == 'bf16':
                model, note = to_bf16(model), ''
            elif variant == 'int8-mmi':
                note = f'{quantize_mmi(model)} MatMuls'
            else:
                model = int8_module.convert_to_int8(model, 127 if variant == 'int8-dqmm' else 63)
                note = f'{sum(n.op_type == "DynamicQuantizeMatMul" for n in model.graph.node)} MatMuls'
            target = os.path.join(args.out, f'{stem}.{variant}.onnx')
            onnx.save(model, target)
            print(f'{target}: {os.path.getsize(target) / 2**20:.0f} MiB {note}', flush=True)


if __name__ == '__main__':
    main()
