"""Training the network's last stage (layer4, three basic blocks) on the served views' pixels.

The frozen part (conv1 .. layer3) runs once per picture: its 256 x 14 x 14 maps of every training photo's two views
(person crop, whole photo), each with its mirror, as sent and on another photo's backdrop, are kept in memory (fp16).
layer4 is then trained on them with the losses of the projection (train.py: supervised contrastive on the served
vector with same mall, else same product, as positives; style, sub-style and garments through training heads that are
not exported; a pull towards the ImageNet vector), with two augmentations that are free on the maps: a view or its
mirror alone, and a random crop of the 14 x 14 map to 12 x 12 or 14 x 14 cells (about 192 or 224 pixels of the view).
The batch norms keep the package's statistics (eval mode): batches of a few dozen photos are too small to re-estimate
them, and serving uses the stored ones.
"""
import copy
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import resnet_onnx as R
from common import Steps, log, optimiser

PIXELS_MAGIC = b"OTPX1\0\0\0"
VIEWS = 2  # 0 crop, 1 whole (EmbedderPixels)


def read_pixels(paths):
    """key hex -> (memmap, [record of the crop, record of the whole view]) over the files `embedder data --pixels` wrote."""
    rec = np.dtype([("key", "u1", 32), ("view", "u1"), ("px", "u1", (R.SIZE, R.SIZE, 3))])
    index = {}
    for path in paths:
        with open(path, "rb") as f:
            head = f.read(12)
        if head[:8] != PIXELS_MAGIC:
            raise SystemExit(f"{path} is not a pixels file of `otchatsa embedder data --pixels`")
        n = int.from_bytes(head[8:12], "little")
        mm = np.memmap(path, dtype=rec, mode="r", offset=12, shape=(n,))
        keys, views = mm["key"], mm["view"]
        for i in range(n):
            index.setdefault(keys[i].tobytes().hex(), [mm, [None] * VIEWS])[1][int(views[i])] = i
    return index


def stem(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer3(model.layer2(model.layer1(x)))


def head(layer4, maps):
    return layer4(maps).mean(dim=(2, 3))


def frozen_maps(model, mean, samples, pixels, batch=16, saved=None):
    """S x 2 views x 2 (as is, mirrored) x 256 x 14 x 14 (fp16) for the samples' pixel keys. With saved (a file
    path), maps computed earlier for these keys (or for more keys, e.g. a run on every fold) are read from it, and
    new ones are written to it."""
    if saved and os.path.exists(saved):
        stored = torch.load(saved)
        where = {key: i for i, key in enumerate(stored["keys"])}
        if all(key in where for key in samples):
            log(f"frozen layers: {len(samples)} samples' maps read from {saved}")
            if stored["keys"] == list(samples):
                return stored["maps"]
            return stored["maps"][torch.tensor([where[key] for key in samples])]
    out = _frozen_maps(model, mean, samples, pixels, batch)
    if saved:
        torch.save({"keys": list(samples), "maps": out}, saved)
    return out


def _frozen_maps(model, mean, samples, pixels, batch):
    out = torch.empty((len(samples), VIEWS, 2, 256, 14, 14), dtype=torch.float16)
    jobs = [(s, v) for s in range(len(samples)) for v in range(VIEWS)]
    t0 = time.time()
    with torch.no_grad():
        for start in range(0, len(jobs), batch):
            chunk = jobs[start:start + batch]
            imgs = []
            for s, v in chunk:
                mm, recs = pixels[samples[s]]
                imgs.append(np.asarray(mm[recs[v]]["px"]))
            imgs = np.stack(imgs)
            x = R.to_input(np.concatenate([imgs, imgs[:, :, ::-1]]), mean)
            m = stem(model, x).to(torch.float16)
            for j, (s, v) in enumerate(chunk):
                out[s, v, 0] = m[j]
                out[s, v, 1] = m[len(chunk) + j]
            done = start + len(chunk)
            if done % (batch * 40) < batch or done == len(jobs):
                rate = done / max(time.time() - t0, 1e-6)
                log(f"frozen layers: {done}/{len(jobs)} views ({(len(jobs) - done) / rate:.0f} s left)")
    return out


class LowRankConv(nn.Module):
    """A frozen convolution plus a trained low-rank change of its weights (LoRA, Hu et al. 2021): W + B A, with
    A: rank x (in * k * k), B: out x rank (zero at the start). merged() gives the plain convolution to export."""

    def __init__(self, conv, rank):
        super().__init__()
        self.conv = conv
        for p in conv.parameters():
            p.requires_grad_(False)
        out_ch, in_ch, kh, kw = conv.weight.shape
        self.a = nn.Parameter(torch.randn(rank, in_ch * kh * kw) / math.sqrt(in_ch * kh * kw))
        self.b = nn.Parameter(torch.zeros(out_ch, rank))

    def weight(self):
        return self.conv.weight + (self.b @ self.a).reshape(self.conv.weight.shape)

    def forward(self, x):
        c = self.conv
        return F.conv2d(x, self.weight(), c.bias, c.stride, c.padding, c.dilation, c.groups)

    def merged(self):
        c = copy.deepcopy(self.conv)
        with torch.no_grad():
            c.weight.copy_(self.weight())
        return c


def low_rank(layer4, rank):
    """Replaces every convolution of layer4 by a LowRankConv (batch norms frozen): only the low-rank factors train."""
    for p in layer4.parameters():
        p.requires_grad_(False)
    for module in list(layer4.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Conv2d):
                setattr(module, child_name, LowRankConv(child, rank))
    return layer4


def merge_low_rank(layer4):
    for module in list(layer4.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LowRankConv):
                setattr(module, child_name, child.merged())
    return layer4


def fit_layer4(model, maps, t, styles, args, rng, losses_of, sampler):
    """Trains a copy of model.layer4 on the maps, over the sampler's batches of sample indices; returns it (eval
    mode) and the loss history."""
    torch.manual_seed(args.seed)
    layer4 = copy.deepcopy(model.layer4)
    layer4.eval()  # batch norms keep the package's statistics; only weights and affine parameters train
    if args.rank:
        layer4 = low_rank(layer4, args.rank)
    trained = [p for p in layer4.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in trained]
    style_head, garment_head, opt, sched = optimiser(trained, args.stage_lr, styles, args)
    steps = Steps(opt, sched, args)
    for step, idx in enumerate(sampler):
        # Even sizes only: the strided first block of layer4 pads asymmetrically like CNTK, so an odd map would leave
        # its two branches one cell apart.
        size = int(rng.choice([12, 14]))
        oy, ox = (int(v) for v in rng.integers(0, 15 - size, size=2))
        flips = torch.from_numpy(rng.integers(0, 2, size=(len(idx), VIEWS)))
        vecs = []
        for v in range(VIEWS):
            m = maps[idx, v, flips[:, v], :, oy:oy + size, ox:ox + size].float()  # B x 256 x size x size
            vecs.append(F.normalize(head(layer4, m), dim=1))
        z = F.normalize(torch.cat(vecs, dim=1), dim=1)
        losses = losses_of(z, idx, style_head, garment_head)
        losses["stay"] = sum(((p - p0) ** 2).sum() for p, p0 in zip(trained, start))
        steps.step(step, losses)
    if args.rank:
        layer4 = merge_low_rank(layer4)
    return layer4.eval(), steps.history
