"""ResNet18 of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 as a torchvision model, and back to ONNX.

The package's ResNet18.onnx was exported by CNTK (opset 8): 20 convolutions with separate BatchNormalization nodes,
the 512-d global average pool as output. Its last stage has three basic blocks, not two, so the model is
torchvision's ResNet with BasicBlock and stage depths [2, 2, 2, 3] (torchvision's resnet18 is [2, 2, 2, 2]). CNTK pads asymmetrically where the stride is 2 (conv1: top/left 3,
bottom/right 2; the max pool and the strided 3x3 convolutions: top/left 1, bottom/right 0), which torchvision's
symmetric padding does not reproduce. So those layers get an explicit ZeroPad2d in front (zero padding is exact for
the max pool too: its input comes out of a ReLU, so it is >= 0).
"""
import collections

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

INPUT_NAME = "Input247"
OUTPUT_NAME = "Pooling395_Output_0"
SIZE = 224
DIMS = 512


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _padded(module, pads):
    """Wraps a conv/pool whose ONNX pads are [top, left, bottom, right] so torch applies exactly those."""
    top, left, bottom, right = pads
    if top == bottom and left == right:
        module.padding = (top, left)
        return module
    module.padding = (0, 0)
    return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), module)


def _torch_slots(model):
    """torchvision's convolutions (with their batch norms) in the order the CNTK graph lists them:
    in a downsampling block the 1x1 shortcut comes before conv1."""
    slots = [("conv1", "bn1")]
    for layer in ("layer1", "layer2", "layer3", "layer4"):
        for b in range(len(getattr(model, layer))):
            block = f"{layer}.{b}"
            if getattr(model, layer)[b].downsample is not None:
                slots.append((f"{block}.downsample.0", f"{block}.downsample.1"))
            slots.append((f"{block}.conv1", f"{block}.bn1"))
            slots.append((f"{block}.conv2", f"{block}.bn2"))
    return slots


def _get(model, dotted):
    m = model
    for part in dotted.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def _set(model, dotted, value):
    parent, _, name = dotted.rpartition(".")
    p = _get(model, parent) if parent else model
    if name.isdigit():
        p[int(name)] = value
    else:
        setattr(p, name, value)


def load_nuget_resnet18(onnx_path):
    """A torchvision ResNet (fc removed: output = 512-d pool, N x 512) carrying the ONNX file's weights."""
    graph = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n)
    convs = [n for n in graph.node if n.op_type == "Conv"]
    # CNTK's "ResNet18" has three basic blocks in its last stage (torchvision's resnet18: two): the same torchvision
    # ResNet with BasicBlock, stage depths [2, 2, 2, 3].
    model = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [2, 2, 2, 3])
    model.fc = nn.Identity()
    slots = _torch_slots(model)
    if len(convs) != len(slots):
        raise ValueError(f"{onnx_path}: {len(convs)} convolutions, the torchvision ResNet has {len(slots)}")
    for node, (conv_name, bn_name) in zip(convs, slots):
        a = _attrs(node)
        conv = _get(model, conv_name)
        w = inits[node.input[1]]
        if tuple(w.shape) != tuple(conv.weight.shape) or list(a["strides"]) != list(conv.stride):
            raise ValueError(f"{node.output[0]} ({w.shape}, stride {a['strides']}) does not fit {conv_name} {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(torch.from_numpy(w.copy()))
        if len(node.input) > 2:
            raise ValueError(f"{node.output[0]}: unexpected conv bias")
        bns = [c for c in consumers[node.output[0]] if c.op_type == "BatchNormalization"]
        if len(bns) != 1:
            raise ValueError(f"{node.output[0]}: expected one BatchNormalization after it")
        bn_node = bns[0]
        bn = _get(model, bn_name)
        scale, bias, mean, var = (inits[x] for x in bn_node.input[1:5])
        bn.weight.data.copy_(torch.from_numpy(scale.reshape(-1).copy()))
        bn.bias.data.copy_(torch.from_numpy(bias.reshape(-1).copy()))
        bn.running_mean.copy_(torch.from_numpy(mean.reshape(-1).copy()))
        bn.running_var.copy_(torch.from_numpy(var.reshape(-1).copy()))
        bn.eps = float(_attrs(bn_node).get("epsilon", 1e-5))
        _set(model, conv_name, _padded(conv, a["pads"]))
    pool = next(n for n in graph.node if n.op_type == "MaxPool")
    model.maxpool = _padded(model.maxpool, _attrs(pool)["pads"])
    model.eval()
    return model


DELTA_SCALE = "::scale"


def _package_slots(graph):
    """(conv weight, [bn scale, bias, mean, var]) initializer names of the package graph, in _torch_slots order."""
    consumers = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n)
    out = []
    for node in (n for n in graph.node if n.op_type == "Conv"):
        bn_node = next(c for c in consumers[node.output[0]] if c.op_type == "BatchNormalization")
        out.append((node.input[1], list(bn_node.input[1:5])))
    return out


def package_tensors(model, onnx_path):
    """The model's weights under the package graph's initializer names and shapes (the inverse of
    load_nuget_resnet18), next to the package's own values: {name: (trained, package)} as float32 numpy arrays."""
    graph = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out = {}
    for (conv_init, bn_inits), (conv_name, bn_name) in zip(_package_slots(graph), _torch_slots(model)):
        conv = _get(model, conv_name)
        conv = conv[1] if isinstance(conv, nn.Sequential) else conv
        bn = _get(model, bn_name)
        for name, value in zip([conv_init] + bn_inits, (conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var)):
            base = inits[name]
            out[name] = (value.detach().cpu().numpy().astype(np.float32).reshape(base.shape), base)
    return out


def write_delta(model, onnx_path, out_path):
    """The trained weights as a change of the package's: an ONNX file holding only initializers named after the package
    graph's. A convolution's change is int8 per output channel (symmetric, scale = max |change| / 127, the scale as
    '<name>::scale'); a batch norm's change stays float32. Unchanged tensors are left out. The engine adds it to the
    package's graph at load time (Vision/EmbedderDelta.cs). Returns (changed values, largest rounding error)."""
    tensors = []
    changed, worst = 0, 0.0
    for name, (trained, base) in package_tensors(model, onnx_path).items():
        d = trained - base
        if not np.any(d):
            continue
        changed += d.size
        if d.ndim == 4:
            peak = np.abs(d).reshape(d.shape[0], -1).max(axis=1)
            scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
            q = np.clip(np.rint(d / scale[:, None, None, None]), -127, 127).astype(np.int8)
            worst = max(worst, float(np.abs(q * scale[:, None, None, None] - d).max()))
            tensors += [numpy_helper.from_array(q, name), numpy_helper.from_array(scale, name + DELTA_SCALE)]
        else:
            tensors.append(numpy_helper.from_array(d.astype(np.float32), name))
    graph = onnx.helper.make_graph([], "otchatsa-embedder-delta", [], [], tensors)
    delta = onnx.helper.make_model(graph, producer_name="otchatsa tools/embedder-train",
                                   doc_string="weight changes of the NuGet ResNet18.onnx; added to its initializers")
    onnx.save(delta, out_path)
    return changed, worst


def apply_delta(onnx_path, delta_path, out_path):
    """The package's graph with the delta added (what the engine does at load time), saved to out_path."""
    model = onnx.load(onnx_path)
    delta = {i.name: numpy_helper.to_array(i) for i in onnx.load(delta_path).graph.initializer}
    for init in model.graph.initializer:
        if init.name in delta:
            d = delta[init.name]
            if d.dtype == np.int8:
                d = d.astype(np.float32) * delta[init.name + DELTA_SCALE].reshape(-1, *([1] * (d.ndim - 1)))
            init.CopyFrom(numpy_helper.from_array((numpy_helper.to_array(init) + d).astype(np.float32), init.name))
    onnx.save(model, out_path)
    return out_path


def read_mean_image(preprocess_path):
    """The mean image (3 x 224 x 224, BGR planes) that ResNetPreprocess.onnx subtracts."""
    graph = onnx.load(preprocess_path).graph
    ops = [n.op_type for n in graph.node]
    if ops != ["Split", "Concat", "Sub"]:
        raise ValueError(f"{preprocess_path}: unexpected preprocessing graph {ops}")
    sub = graph.node[2]
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(_attrs(n)["value"]) for n in graph.node if n.op_type == "Constant"}
    mean = inits.get(sub.input[1], consts.get(sub.input[1]))
    return np.asarray(mean, dtype=np.float32).reshape(3, SIZE, SIZE)


def to_input(rgb_uint8, mean_bgr):
    """N x 224 x 224 x 3 RGB uint8 (numpy) -> the network input: BGR planes, 0-255, minus the mean image (as the C#
    engine's ResNetEmbedder.FillInput)."""
    x = torch.from_numpy(np.ascontiguousarray(rgb_uint8[..., ::-1])).permute(0, 3, 1, 2).float()
    return x - torch.from_numpy(mean_bgr)


class Embedder(nn.Module):
    """What is exported: the trunk, then (when trained) the unit-length pool vector through the learned projection;
    output N x 512 x 1 x 1 like the original. The engine L2-normalises the output itself."""

    def __init__(self, trunk, projection=None):
        super().__init__()
        self.trunk = trunk
        self.projection = projection

    def forward(self, x):
        z = self.trunk(x)
        if self.projection is not None:
            z = self.projection(F.normalize(z, dim=1))
        return z.reshape(-1, DIMS, 1, 1)  # -1: the engine runs the graph with a symbolic batch


def export_onnx(embedder, path):
    embedder.eval()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.onnx.export(embedder, dummy, path, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          opset_version=13, do_constant_folding=True)
    model = onnx.load(path)
    # The final Reshape keeps the batch dynamic (-1), so shape inference leaves the output's dims unknown: declare the
    # package's [1, 512, 1, 1] (the engine makes the batch symbolic in memory, as for the package's file).
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    del out_dims[:]
    for d in (1, DIMS, 1, 1):
        out_dims.add().dim_value = d
    onnx.save(model, path)
    onnx.checker.check_model(model)
    shape = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]
    (i,), (o,) = model.graph.input, model.graph.output
    if (i.name, shape(i), o.name, shape(o)) != (INPUT_NAME, [1, 3, SIZE, SIZE], OUTPUT_NAME, [1, DIMS, 1, 1]):
        raise ValueError(f"exported {path} has {i.name}{shape(i)} -> {o.name}{shape(o)}")
    return path


def probe_images():
    """Generated probe pictures (no data set involved), reproduced bit for bit by the C# side
    (EmbedderCheck.ProbeImages): 224 x 224 RGB uint8, integer formulas only."""
    y, x = np.meshgrid(np.arange(SIZE, dtype=np.int64), np.arange(SIZE, dtype=np.int64), indexing="ij")
    images = []
    for k in range(3):
        img = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        for c in range(3):
            if k == 0:  # hashed noise
                v = ((x * 31 + y * 17 + c * 101 + 7) * 2654435761) % (1 << 32) >> 24
            elif k == 1:  # gradients and stripes
                v = (x + 2 * y + 40 * c + ((x // 16 + y // 16) % 2) * 64) % 256
            else:  # a bright "figure" on a dark ground
                inside = ((x - 112) * (x - 112) + ((y - 112) * (y - 112)) // 4) < 60 * 60
                v = np.where(inside, 200 - 30 * c + (y % 32), 20 + 10 * c + (x % 8))
            img[..., c] = v.astype(np.uint8)
        images.append(img)
    return np.stack(images)
