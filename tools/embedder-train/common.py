"""What both training modes share: logging, the weighted loss total and the per-step bookkeeping."""
import math
import time

import torch
import torch.nn as nn

DIMS = 512
GARMENTS = ["상의", "하의", "아우터", "원피스"]  # top, bottom, outer, dress (the K-Fashion label categories)


def optimiser(trained, trained_lr, styles, args):
    """The style and garment training heads (on the 1024-d served vector; not exported) and AdamW over the trained
    parameters and the heads, with 20 warm-up steps and a cosine decay over --steps."""
    style_head = nn.Linear(2 * DIMS, max(1, len(styles)))
    garment_head = nn.Linear(2 * DIMS, len(GARMENTS))
    opt = torch.optim.AdamW([{"params": list(trained), "lr": trained_lr, "weight_decay": 0.0},
                             {"params": list(style_head.parameters()) + list(garment_head.parameters()),
                              "lr": args.lr, "weight_decay": 1e-4}])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * 0.5 * (1 + math.cos(math.pi * s / args.steps)))
    return style_head, garment_head, opt, sched


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


WEIGHTS = {"identity": None, "style": "style_weight", "substyle": "substyle_weight", "garments": "garment_weight",
           "keep": "keep_weight", "stay": "stay_weight"}


def weighted_total(losses, args):
    """The identity loss plus every other loss times its --<name>-weight."""
    return sum(v if WEIGHTS[k] is None else getattr(args, WEIGHTS[k]) * v for k, v in losses.items())


class Steps:
    """One optimiser step per batch, with the mean of each loss over --log-every steps kept as the history (the
    model card's "losses") and, with progress, logged with the time left."""

    def __init__(self, opt, sched, args, progress=True):
        self.opt, self.sched, self.args, self.progress = opt, sched, args, progress
        self.history, self.sums, self.t0 = [], {}, time.time()

    def step(self, step, losses):
        total = weighted_total(losses, self.args)
        self.opt.zero_grad()
        total.backward()
        self.opt.step()
        self.sched.step()
        for k, v in list(losses.items()) + [("total", total)]:
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        steps, every = self.args.steps, self.args.log_every
        if (step + 1) % every == 0 or step + 1 == steps:
            n = (step % every) + 1
            entry = {"step": step + 1, **{k: round(v / n, 4) for k, v in self.sums.items()}}
            self.history.append(entry)
            self.sums = {}
            if self.progress:
                rate = (step + 1) / max(time.time() - self.t0, 1e-6)
                log(f"step {step + 1}/{steps} " + " ".join(f"{k} {v:.3f}" for k, v in entry.items() if k != "step")
                    + f" ({(steps - step - 1) / rate:.0f} s left)")
