# int8 variant of an exported fp32 ONNX graph, for ONNX Runtime's CPU provider: every MatMul by a constant 2-D
# weight becomes com.microsoft DynamicQuantizeMatMul (activations quantised per tensor at run time, uint8; the weight
# int8, symmetric, one scale per output column; a constant bias Add that follows is folded in). Everything else, the
# attention products and softmax included, stays fp32; fp32 inputs and outputs. Where it pays (bench/perf/
# precision_table.sh, docs/performance.md): on CPUs with AVX-512 VNNI or AMX, the CLIP trunk and heads ran ≥ 2×.
# Initializer names: `<weight>/int8` (int8 [K, N]) and `<weight>/int8_scale` (float32 [N]), so that the templates
# rebuild both from the fp32 weight's recipe (templates.py, src/models/tensorRecipes.ts: quantizeInt8PerColumn).
import numpy as np
from onnx import TensorProto, helper, numpy_helper

QMAX = 127
VALUES, SCALES = '/int8', '/int8_scale'


def quantize_per_column(w, qmax=QMAX):
    """(int8 values, float32 scales) of a float32 [K, N] weight: scale = max |w| over K / qmax (1 where a column is
    all zero), values = round-half-even(w / scale) clipped to ±qmax, all in float32 arithmetic."""
    w = np.asarray(w, dtype=np.float32)
    scale = np.abs(w).max(axis=0) / np.float32(qmax)
    scale = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)
    q = np.clip(np.rint(w / scale), -qmax, qmax).astype(np.int8)
    return q, scale


def convert_to_int8(model, qmax=QMAX):
    """The graph with its weight MatMuls as DynamicQuantizeMatMul (qmax: the largest |value|; the product uses 127,
    bench/perf/precision_variants.py also 63)."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    # The exporter shares a weight through an Identity of the initializer.
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == 'Identity' and n.input[0] in inits}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    nodes, folded, made = [], set(), {}
    for node in graph.node:
        if id(node) in folded:
            continue
        base = alias.get(node.input[1], node.input[1]) if node.op_type == 'MatMul' else None
        w = inits.get(base) if base else None
        if w is None or len(w.dims) != 2 or w.data_type != TensorProto.FLOAT:
            nodes.append(node)
            continue
        if base not in made:
            q, scale = quantize_per_column(numpy_helper.to_array(w), qmax)
            made[base] = (numpy_helper.from_array(q, base + VALUES), numpy_helper.from_array(scale, base + SCALES))
        inputs, output = [node.input[0], base + VALUES, base + SCALES], node.output[0]
        users = consumers.get(output, [])
        if len(users) == 1 and users[0].op_type == 'Add':
            add = users[0]
            other = add.input[1] if add.input[0] == output else add.input[0]
            b = inits.get(other)
            if b is not None and list(b.dims) == [w.dims[1]] and len(consumers.get(other, [])) == 1:
                inputs += ['', other]
                output = add.output[0]
                folded.add(id(add))
        nodes.append(helper.make_node('DynamicQuantizeMatMul', inputs, [output], name=node.name + '/int8',
                                      domain='com.microsoft'))
    del graph.node[:]
    graph.node.extend(nodes)
    for pair in made.values():
        graph.initializer.extend(pair)
    finish_graph(model)
    return model


def finish_graph(model):
    """After a rewrite: drops the Identity nodes and initializers nothing reads any more and the stale value_info, and
    imports com.microsoft."""
    graph = model.graph
    del graph.value_info[:]
    if not any(o.domain == 'com.microsoft' for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid('com.microsoft', 1))
    used = {x for n in graph.node for x in n.input} | {o.name for o in graph.output}
    live = [n for n in graph.node if n.op_type != 'Identity' or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(live)
    used = {x for n in graph.node for x in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
