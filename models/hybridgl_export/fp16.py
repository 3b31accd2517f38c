# fp16 variant of an exported fp32 ONNX graph: fp16 weights and arithmetic, LayerNormalization kept in fp32 (as
# CLIP's fp16 mode computes LayerNorm in fp32 with fp32 weights), fp32 graph inputs and outputs.
# (PyTorch 1.13 cannot trace fp16 convolutions on CPU, so the conversion works on the graph instead.)
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP32_OPS = {'LayerNormalization'}


def _to_fp16(tensor):
    return numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), tensor.name)


def convert_to_fp16(model):
    graph = model.graph
    fp32_only = {name for node in graph.node if node.op_type in FP32_OPS for name in node.input[1:]}
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT and init.name not in fp32_only:
            graph.initializer[i].CopyFrom(_to_fp16(init))
    nodes = []
    for index, node in enumerate(graph.node):
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(_to_fp16(attr.t))
            if node.op_type == 'Cast' and attr.name == 'to' and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
        if node.op_type in FP32_OPS:
            x, y = node.input[0], node.output[0]
            tag = f'/fp32_{index}'
            nodes.append(helper.make_node('Cast', [x], [x + tag], to=TensorProto.FLOAT))
            node.input[0], node.output[0] = x + tag, y + tag
            nodes.append(node)
            nodes.append(helper.make_node('Cast', [y + tag], [y], to=TensorProto.FLOAT16))
        else:
            nodes.append(node)
    # fp32 graph inputs are cast to fp16 on entry; fp32 outputs are cast back on exit.
    head, renamed = [], {}
    for value in graph.input:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            renamed[value.name] = value.name + '/fp16'
            head.append(helper.make_node('Cast', [value.name], [value.name + '/fp16'], to=TensorProto.FLOAT16))
    for node in nodes:
        for j, name in enumerate(node.input):
            if name in renamed:
                node.input[j] = renamed[name]
    tail, outputs = [], {v.name for v in graph.output if v.type.tensor_type.elem_type == TensorProto.FLOAT}
    for node in nodes:
        for j, name in enumerate(node.output):
            if name in outputs:
                node.output[j] = name + '/fp16'
                tail.append(helper.make_node('Cast', [name + '/fp16'], [name], to=TensorProto.FLOAT))
    del graph.node[:]
    graph.node.extend(head + nodes + tail)
    del graph.value_info[:]
    return model
