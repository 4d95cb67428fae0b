#!/usr/bin/python3
"""Trains our own fashion embedder on top of the NuGet package's ResNet18 and writes it back to ONNX with the same
input and output, so the C# engine loads it unchanged. Normally run through run.sh (README, "Train our own embedder").

  reference --out ref.json   the package's ResNet18 loaded into torchvision, on the generated probe pictures; check it
                             against ONNX Runtime with `otchatsa embedder check --reference ref.json`
  train --data A.json B.json --out DIR [--holdout-fold K]
                             learns from the files `otchatsa embedder data` writes (labels, folds, keys into the
                             engine's embedding cache) and writes DIR/embedder.onnx, DIR/embedder.reference.json (the
                             trained network's PyTorch outputs on the probes) and DIR/embedder.card.json
  delta --embedder DIR --out models
                             the trained last stage as a change of the package's weights (fashion_embedder.delta.onnx,
                             int8 per output channel, ~13 MB), its card and reference: what the product ships and adds
                             to the package's graph at load time
  selfcheck --out DIR        the same on a tiny generated data set (no photos): used by the C# test of this tool

What is trained (--stage):
  layer4      the network's last stage (three basic blocks; batch-norm statistics kept), on the served views' pixels
              (`otchatsa embedder data --pixels`: person crop and whole photo as the engine renders them, as sent and
              on another photo's backdrop). conv1 .. layer3 stay frozen and run once per picture (about 22 ms a view
              on two cores); their maps are kept in memory and layer4 trains on them (stage.py). --rank R trains a
              low-rank change of each convolution instead of all its weights.
  projection  a projection of the unit-length 512-d pool vector (identity at the start: linear 512x512, or residual
              with a hidden layer) on the engine's cached vectors of the served views; fast, measured weaker.
Losses (both): supervised contrastive on the served vector (crop+whole, flip-averaged) with same mall (else same
product) as positives, across backgrounds; style and sub-style (cross-entropy) and garment categories (multi-label)
through training heads that are not exported; a pull towards the ImageNet vector. Augmentation: background swap,
flip (a view alone, without its mirror, or the mirror alone), and for layer4 a random crop of the maps.

Needs Debian's python3-torch, python3-torchvision, python3-onnx (PyTorch 1.13, torchvision 0.14, ONNX 1.12).
"""
import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_onnx as R  # noqa: E402
import stage as S  # noqa: E402
from common import GARMENTS, Steps, log, optimiser  # noqa: E402

NUGET = os.path.join(os.environ.get("NUGET_PACKAGES") or os.path.expanduser("~/.nuget/packages"),
                     "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels")
UNITS = ["crop", "crop~mirror", "whole", "whole~mirror"]
CACHE_MAGIC = b"OTEC1\0\0\0"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def load_base(args):
    model = R.load_nuget_resnet18(os.path.join(args.nuget, "ResNet18Onnx", "ResNet18.onnx"))
    mean = R.read_mean_image(os.path.join(args.nuget, "ResNetPrepOnnx", "ResNetPreprocess.onnx"))
    return model, mean


def probe_outputs(embedder, mean):
    embedder.eval()
    with torch.no_grad():
        return embedder(R.to_input(R.probe_images(), mean)).reshape(-1, R.DIMS).numpy()


def write_reference(path, name, outputs):
    with open(path, "w") as f:
        json.dump({"model": name, "probes": "resnet_onnx.probe_images (3 generated 224x224 pictures)",
                   "outputs": [[float(v) for v in row] for row in outputs]}, f)
    log(f"reference outputs of {name} -> {path}")


# ---------------------------------------------------------------- the engine's embedding cache

def read_unit(path, dims):
    """One cache unit file (EmbeddingCache): magic, int32 dims, then records of 32-byte key + dims float32."""
    vectors = {}
    if not os.path.exists(path):
        return vectors
    data = open(path, "rb").read()
    if data[:8] != CACHE_MAGIC or int.from_bytes(data[8:12], "little") != dims:
        raise SystemExit(f"{path} is not an embedding cache unit of {dims}-d vectors")
    size = 32 + 4 * dims
    n = (len(data) - 12) // size
    arr = np.frombuffer(data, dtype=np.uint8, count=n * size, offset=12).reshape(n, size)
    floats = arr[:, 32:].copy().view(np.float32)
    for i in range(n):
        vectors[arr[i, :32].tobytes().hex()] = floats[i]
    return vectors


def load_data(paths, holdout_fold, pixels=None):
    """Samples: (photo, condition, vectors or pixel key); condition 0 = as sent, 1 = on another photo's backdrop.
    From the cache (pixels None): the 4 unit vectors of the served views; the other-background condition exists for
    every third photo (the evaluation's). From the pixels (pixels: read_pixels' index): every photo in both
    conditions. Photos whose product is in the held-out fold of any manifest are left out (a product may recur
    across manifests), and so are other-background samples whose backdrop is a held-out photo."""
    photos, meta = [], []
    for m, path in enumerate(paths):
        d = json.load(open(path, encoding="utf-8"))
        units = {} if pixels is not None else {u: read_unit(os.path.join(d["cache"], d["units"][u] + ".bin"), d["dims"]) for u in UNITS}
        for p in d["photos"]:
            p["manifest"] = m
            p["units"] = units
        photos += d["photos"]
        meta.append({"file": path, "sha256": sha256(path), "manifest": d["manifest"], "manifest_sha256": d["manifest_sha256"],
                     "models_key": d["models_key"], "folds": d["folds"], "seed": d["seed"], "photos": len(d["photos"])})
    held = {p["group"] for p in photos if holdout_fold is not None and p["fold"] == holdout_fold}
    other = ("swap_key", "swap_backdrop_fold") if pixels is not None else ("other_key", "backdrop_fold")
    samples, missing = [], 0
    for p in photos:
        if p["group"] in held:
            continue
        for cond, key in ((0, p["key"]), (1, p.get(other[0]))):
            if key is None or (cond == 1 and holdout_fold is not None and p.get(other[1]) == holdout_fold):
                continue
            if pixels is not None:
                if key not in pixels:
                    missing += 1
                    continue
                samples.append((p, cond, key))
                continue
            vecs = [p["units"][u].get(key) for u in UNITS]
            if any(v is None for v in vecs):
                missing += cond == 0
                continue
            samples.append((p, cond, np.stack(vecs)))
    if missing:
        log(f"warning: {missing} samples are not in the " + ("pixels files" if pixels is not None else
                                                              "cache (run `otchatsa embedder data` again)"))
    return photos, samples, held, meta


def tensors(samples):
    styles = sorted({p[s] for p, _, _ in samples for s in ("style", "substyle") if p.get(s)})
    sidx = {s: i for i, s in enumerate(styles)}
    ids = {}
    cols = {k: [] for k in ("identity", "photo", "cond", "style", "substyle", "garments", "has_garments", "fold")}
    for p, cond, _ in samples:
        # Same mall, else same product: the positives of the metric loss.
        cols["identity"].append(ids.setdefault(("mall", p["mall"]) if p["mall"] else ("group", p["group"]), len(ids)))
        cols["photo"].append(ids.setdefault(("photo", p["manifest"], p["index"]), len(ids)))
        cols["cond"].append(cond)
        cols["style"].append(sidx.get(p.get("style") or "", -1))
        cols["substyle"].append(sidx.get(p.get("substyle") or "", -1))
        g = set(p.get("garments") or [])
        cols["garments"].append([1.0 if c in g else 0.0 for c in GARMENTS])
        cols["has_garments"].append(bool(g))
        cols["fold"].append(p["fold"])
    t = {k: torch.tensor(v) for k, v in cols.items()}
    if samples and not isinstance(samples[0][2], str):
        t["units"] = torch.from_numpy(np.stack([v for _, _, v in samples]))  # N x 4 x 512, unit vectors
    return styles, t


# ---------------------------------------------------------------- the model

class Projection(nn.Module):
    """Identity at the start. hidden = 0: z -> W z + b; else z -> z + W2 relu(W1 z + b1) + b2 (W2 = 0 at the start)."""

    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        if hidden:
            self.fc1 = nn.Linear(R.DIMS, hidden)
            self.fc2 = nn.Linear(hidden, R.DIMS)
            nn.init.zeros_(self.fc2.weight)
            nn.init.zeros_(self.fc2.bias)
        else:
            self.fc = nn.Linear(R.DIMS, R.DIMS)
            with torch.no_grad():
                self.fc.weight.copy_(torch.eye(R.DIMS))
                self.fc.bias.zero_()

    def forward(self, z):
        return z + self.fc2(F.relu(self.fc1(z))) if self.hidden else self.fc(z)


def served(units, f, flip_mode=None):
    """The engine's crop+whole/flip vector from the 4 unit vectors (N x 4 x 512) through f: each view's vector is
    normalised, summed with its mirror's and normalised; crop and whole are concatenated and normalised.
    flip_mode (training): per sample 0 = both, 1 = the view alone, 2 = the mirror alone."""
    e = F.normalize(f(F.normalize(units.reshape(-1, R.DIMS), dim=1)), dim=1).reshape(units.shape)
    if flip_mode is not None:
        w = torch.stack([flip_mode != 2, flip_mode != 1], dim=1).float()  # weights of (view, mirror)
        crop = e[:, 0] * w[:, :1] + e[:, 1] * w[:, 1:]
        whole = e[:, 2] * w[:, :1] + e[:, 3] * w[:, 1:]
    else:
        crop, whole = e[:, 0] + e[:, 1], e[:, 2] + e[:, 3]
    return F.normalize(torch.cat([F.normalize(crop, dim=1), F.normalize(whole, dim=1)], dim=1), dim=1)


def supcon(z, labels, temperature, same_photo):
    """Supervised contrastive loss (Khosla et al. 2020): the other samples with the same label are the positives."""
    n = z.shape[0]
    self_mask = torch.eye(n, dtype=torch.bool)
    sim = (z @ z.t() / temperature).masked_fill(self_mask, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    has = pos.any(dim=1)
    if not has.any():
        return z.sum() * 0
    return -((log_prob * pos).sum(1)[has] / pos.sum(1)[has]).mean()


def batches(t, steps, ids_per_batch, per_id, rng):
    """P x K: ids_per_batch identities with >= 2 samples, per_id samples each (other photos and backgrounds of it)."""
    by_id = {}
    for i, k in enumerate(t["identity"].tolist()):
        by_id.setdefault(k, []).append(i)
    pool = np.array(sorted(k for k, v in by_id.items() if len(v) >= 2))
    for _ in range(steps):
        chosen = rng.choice(pool, size=min(ids_per_batch, len(pool)), replace=False)
        idx = []
        for c in chosen:
            v = by_id[int(c)]
            idx += list(rng.choice(v, size=min(per_id, len(v)), replace=False))
        yield torch.tensor(idx)


def make_losses(t, base, args):
    """The training losses of a batch's served vectors z (B x 1024, unit length) for the samples idx; base: every
    sample's ImageNet served vector (the pull towards it keeps what the package's network already gets right)."""
    def losses_of(z, idx, style_head, garment_head):
        losses = {"identity": supcon(z, t["identity"][idx], args.temperature, t["photo"][idx])}
        logits = style_head(z * 16)
        s, ss = t["style"][idx], t["substyle"][idx]
        zero = z.sum() * 0
        losses["style"] = F.cross_entropy(logits[s >= 0], s[s >= 0]) if (s >= 0).any() else zero
        losses["substyle"] = F.cross_entropy(logits[ss >= 0], ss[ss >= 0]) if (ss >= 0).any() else zero
        g = t["has_garments"][idx]
        losses["garments"] = (F.binary_cross_entropy_with_logits(garment_head(z * 16)[g], t["garments"][idx][g])
                              if g.any() else zero)
        losses["keep"] = ((z - base[idx]) ** 2).sum(1).mean()
        return losses
    return losses_of


def fit(t, styles, args, rng, progress=True):
    torch.manual_seed(args.seed)
    proj = Projection(args.hidden)
    style_head, garment_head, opt, sched = optimiser(proj.parameters(), args.lr, styles, args)
    with torch.no_grad():
        base = served(t["units"], lambda z: z)
    losses_of = make_losses(t, base, args)
    steps = Steps(opt, sched, args, progress)
    for step, idx in enumerate(batches(t, args.steps, args.ids_per_batch, args.per_id, rng)):
        flip = torch.from_numpy(rng.choice(3, size=len(idx), p=[0.5, 0.25, 0.25]))
        z = served(t["units"][idx], proj, flip)
        losses = losses_of(z, idx, style_head, garment_head)
        steps.step(step, losses)
    return proj.eval(), steps.history


def mall_recall(t, f, query_fold):
    """A quick proxy of the evaluation, for choosing settings inside the training folds: queries = photos of
    query_fold (as sent, and on other backdrops), index = the other photos as sent; a query's mall is found when it
    is among the 3 malls of its most similar photos (malls with >= 3 photos in the index only)."""
    with torch.no_grad():
        z = served(t["units"], f)
    index = (t["fold"] != query_fold) & (t["cond"] == 0)
    mall_of = t["identity"]
    counts = torch.bincount(mall_of[index], minlength=int(mall_of.max()) + 1)
    out = {}
    for cond, name in ((0, "in_studio"), (1, "other_background")):
        q = ((t["fold"] == query_fold) & (t["cond"] == cond)).nonzero().flatten()
        q = q[counts[mall_of[q]] >= 3]
        if len(q) == 0:
            continue
        sim = z[q] @ z[index].t()
        order = sim.argsort(dim=1, descending=True)[:, :60]
        hits = 0
        for row, qi in zip(order, q):
            malls = []
            for m in mall_of[index][row].tolist():
                if m not in malls:
                    malls.append(m)
                if len(malls) == 3:
                    break
            hits += int(mall_of[qi]) in malls
        out[name] = round(hits / len(q), 4)
    return out


def train(args):
    torch.set_num_threads(args.threads)
    t_start = time.time()
    rng = np.random.default_rng(args.seed)
    pixels = S.read_pixels(args.pixels) if args.stage == "layer4" else None
    photos, samples, held, meta = load_data(args.data, args.holdout_fold, pixels)
    styles, t = tensors(samples)
    log(f"{len(photos)} photos from {len(args.data)} manifests; {len(samples)} training samples "
        f"({int((t['cond'] == 1).sum())} on other backdrops)"
        + (f"; {len(held)} products of fold {args.holdout_fold} left out" if args.holdout_fold is not None else ""))
    selection = None
    if args.select and args.holdout_fold is not None:
        # Settings are chosen inside the training folds (one of them as validation), never on the held-out fold.
        val = next(f for f in range(meta[0]["folds"]) if f != args.holdout_fold)
        inner = {k: v[t["fold"] != val] if k != "units" else v[t["fold"] != val] for k, v in t.items()}
        selection = {"validation_fold": val, "imagenet": mall_recall(t, lambda z: z, val), "tried": []}
        log(f"choosing settings on training fold {val}: ImageNet proxy {selection['imagenet']}")
        best = None
        for hidden in args.select_hidden:
            for steps in args.select_steps:
                trial = argparse.Namespace(**{**vars(args), "hidden": hidden, "steps": steps})
                f, _ = fit(inner, styles, trial, np.random.default_rng(args.seed), progress=False)
                score = mall_recall(t, f, val)
                selection["tried"].append({"hidden": hidden, "steps": steps, **score})
                log(f"  hidden {hidden}, steps {steps}: {score}")
                key = score.get("other_background", 0) + score.get("in_studio", 0)
                if best is None or key > best[0]:
                    best = (key, hidden, steps)
        args.hidden, args.steps = best[1], best[2]
        selection["chosen"] = {"hidden": args.hidden, "steps": args.steps}
        log(f"chosen: hidden {args.hidden}, steps {args.steps}")
    model, mean = load_base(args)
    if args.stage == "layer4":
        maps = S.frozen_maps(model, mean, [key for _, _, key in samples], pixels, saved=args.maps)
        with torch.no_grad():
            units = torch.stack([F.normalize(S.head(model.layer4, maps[:, v, f].float()), dim=1)
                                 for v in range(S.VIEWS) for f in range(2)], dim=1)  # crop, crop~mirror, whole, whole~mirror
            base = served(units, lambda z: z)
        model.layer4, history = S.fit_layer4(model, maps, t, styles, args, rng, make_losses(t, base, args),
                                             batches(t, args.steps, args.ids_per_batch, args.per_id, rng))
        del maps
        embedder = R.Embedder(model).eval()
        proj = model.layer4
    else:
        proj, history = fit(t, styles, args, rng)
        embedder = R.Embedder(model, proj).eval()
    os.makedirs(args.out, exist_ok=True)
    # The trained weights first (PyTorch), so a failed export does not lose the training.
    torch.save(embedder.state_dict(), os.path.join(args.out, "embedder.pt"))
    onnx_path = R.export_onnx(embedder, os.path.join(args.out, "embedder.onnx"))
    write_reference(os.path.join(args.out, "embedder.reference.json"), "embedder.onnx (PyTorch)", probe_outputs(embedder, mean))
    card = {
        "model": "embedder.onnx", "sha256": sha256(onnx_path),
        "base": "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 ResNet18.onnx",
        "base_sha256": sha256(os.path.join(args.nuget, "ResNet18Onnx", "ResNet18.onnx")),
        "input": [R.INPUT_NAME, [1, 3, R.SIZE, R.SIZE], "BGR 0-255 minus ResNetPreprocess.onnx's mean image (unchanged)"],
        "output": [R.OUTPUT_NAME, [1, R.DIMS, 1, 1]],
        "trained": ("layer4 (three basic blocks; batch-norm statistics kept"
                    + (f"; a rank-{args.rank} change of each convolution, merged" if args.rank else "")
                    + ") on the frozen layers' maps of the served views"
                    if args.stage == "layer4" else
                    "projection on the unit-length 512-d pool vector: "
                    + (f"residual, hidden {args.hidden}" if args.hidden else "linear 512x512"))
                   + "; training heads for style + sub-style and garments (not exported); the rest of the trunk frozen",
        "data": meta,
        "folds": "product-disjoint, as `otchatsa eval --folds 5 --seed 1` assigns them over all the manifests together",
        "holdout_fold": args.holdout_fold, "held_out_products": len(held),
        "train_photos": len({(p['manifest'], p['index']) for p, _, _ in samples}), "train_samples": len(samples),
        "other_background_samples": int((t["cond"] == 1).sum()),
        "styles": styles, "garments": GARMENTS,
        "selection": selection,
        "settings": {k: v for k, v in vars(args).items() if k != "func"},
        "losses": history,
        "seconds": round(time.time() - t_start, 1),
        "torch": torch.__version__, "onnx": onnx.__version__, "python": platform.python_version(),
    }
    with open(os.path.join(args.out, "embedder.card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, ensure_ascii=False, indent=1)
    log(f"wrote {onnx_path} and its card ({card['seconds']:.0f} s)")
    return proj


DELTA_NAME = "fashion_embedder"


def delta(args):
    """The trained last stage of <embedder>/embedder.pt as a change of the package's weights (the committable form,
    models/fashion_embedder.delta.onnx, about 13 MB), its card and the probe outputs of package + delta."""
    torch.set_num_threads(args.threads)
    model, mean = load_base(args)
    embedder = R.Embedder(model)
    embedder.load_state_dict(torch.load(os.path.join(args.embedder, "embedder.pt")))  # a projection does not fit: refused here
    base_path = os.path.join(args.nuget, "ResNet18Onnx", "ResNet18.onnx")
    os.makedirs(args.out, exist_ok=True)
    delta_path = os.path.join(args.out, DELTA_NAME + ".delta.onnx")
    changed, worst = R.write_delta(embedder.trunk, base_path, delta_path)
    with tempfile.TemporaryDirectory() as tmp:
        merged = R.load_nuget_resnet18(R.apply_delta(base_path, delta_path, os.path.join(tmp, "merged.onnx")))
    trained, rebuilt = probe_outputs(embedder, mean), probe_outputs(R.Embedder(merged), mean)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
    cosine = float((unit(trained) * unit(rebuilt)).sum(axis=1).min())
    write_reference(os.path.join(args.out, DELTA_NAME + ".reference.json"), DELTA_NAME + " (package + delta, PyTorch)", rebuilt)
    with open(os.path.join(args.embedder, "embedder.card.json"), encoding="utf-8") as f:
        card = json.load(f)
    # No machine paths in a committed card: file names only.
    for d in card.get("data", []):
        d["file"], d["manifest"] = os.path.basename(d["file"]), os.path.basename(os.path.dirname(d["manifest"])) + "/manifest.csv"
    card["settings"] = {k: ([os.path.basename(x) for x in v] if isinstance(v, list) and v and isinstance(v[0], str)
                            else os.path.basename(v) if isinstance(v, str) and os.sep in v else v)
                        for k, v in card.get("settings", {}).items()}
    card.update({
        "model": os.path.basename(delta_path), "sha256": sha256(delta_path),
        "trained_network_sha256": card.get("sha256"),
        "delta": {"format": "ONNX initializers named after the package graph's; Conv weights: int8 per output channel "
                            "(scale '<name>::scale' = max |change| / 127), batch norms: float32; added at load time",
                  "changed_values": changed, "largest_rounding_error": worst,
                  "probe_cosine_trained_vs_package_plus_delta_min": cosine},
    })
    with open(os.path.join(args.out, DELTA_NAME + ".card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, ensure_ascii=False, indent=1)
    log(f"wrote {delta_path} ({os.path.getsize(delta_path) / 1e6:.1f} MB, {changed} changed values, rounding error "
        f"<= {worst:.2e}; probes: cosine(trained, package + delta) >= {cosine:.6f})")
    if not cosine > 0.999:
        raise SystemExit(f"delta: package + delta is too far from the trained network (cosine {cosine:.6f})")
    return cosine


def reference(args):
    torch.set_num_threads(args.threads)
    model, mean = load_base(args)
    write_reference(args.out, "ResNet18.onnx loaded into torchvision (PyTorch)", probe_outputs(R.Embedder(model), mean))


def selfcheck(args):
    """The package's network loaded (reference written), then training and export on a tiny generated data set:
    a fake cache of random unit vectors for 12 photos of 3 malls in 5 folds (the projection), then a pixels file of
    generated pictures for the same photos (the last stage, exported into <out>/layer4)."""
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    reference(argparse.Namespace(**{**vars(args), "out": os.path.join(args.out, "base.reference.json")}))
    rng = np.random.default_rng(args.seed)
    cache = os.path.join(args.out, "cache")
    os.makedirs(cache, exist_ok=True)
    photos, records = [], {u: [] for u in UNITS}
    centres = rng.normal(size=(3, R.DIMS))
    for i in range(12):
        keys = [hashlib.sha256(f"synthetic-{i}-{c}".encode()).digest() for c in range(2)]
        for key in keys:
            for u in UNITS:
                v = np.abs(centres[i % 3] + 0.5 * rng.normal(size=R.DIMS)).astype(np.float32)
                records[u].append(key + (v / np.linalg.norm(v)).astype(np.float32).tobytes())
        photos.append({"index": i, "image": f"synthetic-{i}", "key": keys[0].hex(), "mall": f"mall-{i % 3}",
                       "group": f"product:{i}", "style": ["romantic", "resort"][i % 2], "substyle": None,
                       "garments": [GARMENTS[i % 4]], "fold": i % 5, "other_key": keys[1].hex(),
                       "backdrop": (i + 1) % 12, "backdrop_fold": (i + 1) % 5,
                       "swap_key": keys[1].hex(), "swap_backdrop_fold": (i + 1) % 5})
    names = {u: u.replace("~", ".r0~") if "~" in u else u + ".r0" for u in UNITS}
    for u in UNITS:
        with open(os.path.join(cache, names[u] + ".bin"), "wb") as f:
            f.write(CACHE_MAGIC + R.DIMS.to_bytes(4, "little") + b"".join(records[u]))
    data = os.path.join(args.out, "synthetic.json")
    with open(data, "w", encoding="utf-8") as f:
        json.dump({"manifest": "synthetic", "manifest_sha256": "", "cache": cache, "models_key": "synthetic",
                   "units": names, "dims": R.DIMS, "folds": 5, "seed": 1, "photos": photos}, f)
    args = argparse.Namespace(**{**vars(args), "data": [data], "holdout_fold": 4, "select": True, "stage": "projection", "pixels": [],
                                 "select_hidden": [0], "select_steps": [3], "steps": 5, "hidden": 0,
                                 "ids_per_batch": 3, "per_id": 3, "log_every": 1})
    proj = train(args)
    moved = float((proj.fc.weight - torch.eye(R.DIMS)).abs().max())
    if not moved > 0:
        raise SystemExit("selfcheck: training did not change the projection")
    log(f"projection moved by up to {moved:.2e} from the identity")

    # The last stage, on a pixels file of generated pictures (a bright figure on a dark ground, shifted per photo and
    # per backdrop) for both conditions and views of every photo: exported into <out>/layer4.
    img = R.probe_images()[2]
    recs = []
    for p in photos:
        for cond, key in ((0, p["key"]), (1, p["swap_key"])):
            for view in range(S.VIEWS):
                shifted = np.roll(img, shift=(3 * p["index"] + 7 * cond, 11 * view), axis=(0, 1))
                recs.append(bytes.fromhex(key) + bytes([view]) + shifted.tobytes())
    pixels = os.path.join(args.out, "synthetic.px")
    with open(pixels, "wb") as f:
        f.write(S.PIXELS_MAGIC + len(recs).to_bytes(4, "little") + b"".join(recs))
    base, _ = load_base(args)
    layer4_args = argparse.Namespace(**{**vars(args), "stage": "layer4", "pixels": [pixels], "select": False,
                                        "steps": 3, "out": os.path.join(args.out, "layer4")})
    layer4 = train(layer4_args)
    moved = max(float((a - b).abs().max()) for a, b in zip(layer4.parameters(), base.layer4.parameters()))
    if not moved > 0:
        raise SystemExit("selfcheck: training did not change layer4")
    delta(argparse.Namespace(**{**vars(args), "embedder": layer4_args.out, "out": os.path.join(args.out, "delta")}))
    log(f"selfcheck ok: projection and layer4 trained (layer4 moved by up to {moved:.2e}), its delta rebuilds it")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nuget", default=NUGET, help="the package's DnnImageModels folder")
    p.add_argument("--threads", type=int, default=1,
                   help="PyTorch threads (1: on a shared machine OpenMP threads waiting for each other cost more than they give)")
    p.add_argument("--seed", type=int, default=1)
    sub = p.add_subparsers(required=True)
    r = sub.add_parser("reference")
    r.add_argument("--out", required=True)
    r.set_defaults(func=reference)
    d = sub.add_parser("delta", help="the trained last stage as a change of the package's weights (models/)")
    d.add_argument("--embedder", required=True, help="a folder `train --stage layer4` wrote (embedder.pt, embedder.card.json)")
    d.add_argument("--out", required=True)
    d.set_defaults(func=delta)
    for name, func in (("train", train), ("selfcheck", selfcheck)):
        t = sub.add_parser(name)
        t.add_argument("--out", required=True)
        if name == "train":
            t.add_argument("--data", nargs="+", required=True, help="files written by `otchatsa embedder data`")
            t.add_argument("--holdout-fold", type=int, default=None, help="leave out this fold's products (for evaluation)")
            t.add_argument("--stage", choices=["projection", "layer4"], default="projection",
                           help="what trains: a projection on the cached vectors, or the network's last stage on the pixels")
            t.add_argument("--pixels", nargs="+", default=[], help="files written by `otchatsa embedder data --pixels` (--stage layer4)")
            t.add_argument("--select", action="store_true", help="choose hidden size and steps on a training fold first")
            t.add_argument("--select-hidden", type=int, nargs="+", default=[0, 1024])
            t.add_argument("--select-steps", type=int, nargs="+", default=[200, 600])
        t.add_argument("--hidden", type=int, default=0)
        t.add_argument("--steps", type=int, default=300)
        t.add_argument("--ids-per-batch", type=int, default=32)
        t.add_argument("--per-id", type=int, default=4)
        t.add_argument("--log-every", type=int, default=50)
        t.add_argument("--lr", type=float, default=1e-3)
        t.add_argument("--temperature", type=float, default=0.1)
        t.add_argument("--style-weight", type=float, default=0.5)
        t.add_argument("--substyle-weight", type=float, default=0.2)
        t.add_argument("--garment-weight", type=float, default=0.5)
        t.add_argument("--keep-weight", type=float, default=1.0)
        t.add_argument("--stage-lr", type=float, default=1e-4, help="learning rate of layer4 (--stage layer4)")
        t.add_argument("--rank", type=int, default=0,
                       help="train a low-rank change of each layer4 convolution (LoRA) instead of all its weights (--stage layer4)")
        t.add_argument("--maps", default=None,
                       help="keep the frozen layers' maps in this file between runs (derived from the photos: a temporary place)")
        t.add_argument("--stay-weight", type=float, default=1e-3,
                       help="L2 pull of layer4's weights towards the package's (--stage layer4)")
        t.set_defaults(func=func)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
