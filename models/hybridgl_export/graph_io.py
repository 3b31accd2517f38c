# Reading an exported ONNX graph back (needs the onnx package), whether its tensors are inline or external data.
from onnx import load


def load_inline(path):
    """The graph with its external data (if any) read in, its tensors marked inline as in an in-memory export
    (onnx.load marks each tensor it read so, which would otherwise be serialised)."""
    model = load(path)
    for init in model.graph.initializer:
        init.ClearField('data_location')
    return model
