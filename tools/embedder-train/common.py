"""What both training modes share: logging, the weighted loss total and the per-step bookkeeping."""
import time


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
