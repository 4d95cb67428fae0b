#!/usr/bin/env python3
"""Style-head probe (research, not the product): the 23-style experiments of docs/evaluation.md ("What was tried",
the tools/style-probe rows) on the engine's cached vectors, in PyTorch (Debian's python3-torch).

    otchatsa embedder data --data ../shared/data/kfashion/manifest.csv --data ../shared/data/kfashion23/manifest.csv --out /tmp/ed
    /usr/bin/python3 tools/style-probe/probe.py /tmp/ed [--parts] [--halves]

It reads the cache and the label JSON files in place (nothing is copied) and prints head-alone and gated-mix numbers
over eval's five product-disjoint folds: the engine's recipe, the true-garment-attribute ceiling, the class weights
that favour the 23-style sample, per-class L2, the similarity-gated neighbour vote and experts gated by which sample
a photo looks like; with --parts also the photos' true garment boxes cut out and embedded (read in place, kept in
memory); with --halves every line on the default view since 2026-12-02 (crop+whole+halves/flip) instead of
crop+whole/flip. Settings were tuned on these same folds. Each line: 23-style sample top-1, top-3, macro-F1, styles named |
first sample top-1, top-3, macro-F1.
"""
import collections, csv, json, os, sys
import numpy as np, torch

torch.set_num_threads(2)
UNITS = ['crop', 'crop~mirror', 'whole', 'whole~mirror']
HALVES = ['upper', 'upper~mirror', 'lower', 'lower~mirror']  # --halves: the default view since 2026-12-02
GARMENTS = ['상의', '하의', '아우터', '원피스']


def nz(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def read_unit(path, dims=512):
    """One EmbeddingCache unit file: 12-byte header, then records of 32-byte key + dims float32."""
    data = open(path, 'rb').read()
    size = 32 + 4 * dims
    n = (len(data) - 12) // size
    arr = np.frombuffer(data, dtype=np.uint8, count=n * size, offset=12).reshape(n, size)
    floats = arr[:, 32:].copy().view(np.float32)
    return {arr[i, :32].tobytes().hex(): floats[i] for i in range(n)}


def load(folder, halves=False):
    """Photos of both samples (`embedder data` JSON): served vector (crop+whole/flip, or crop+whole+halves/flip with
    halves), the view vectors (4 or 8), labels, fold and the set of (garment, attribute, value) of its AI Hub label."""
    names = UNITS + (HALVES if halves else [])
    photos = []
    for m, name in enumerate(['kfashion', 'kfashion23']):
        d = json.load(open(os.path.join(folder, f'{name}.json')))
        if any(u not in d['units'] for u in names):
            raise SystemExit(f'{name}.json lists no {names[-1]} vectors: write it again with this `otchatsa embedder data`')
        units = {u: read_unit(os.path.join(d['cache'], d['units'][u] + '.bin')) for u in names}
        base = os.path.dirname(d['manifest'])
        rows = {r['image']: r for r in csv.DictReader(open(d['manifest']))}
        for p in d['photos']:
            v = [units[u].get(p['key']) for u in names]
            if any(x is None for x in v):
                continue
            v = np.stack(v)
            label = json.load(open(os.path.join(base, rows[p['image']]['label'])))
            label = label['데이터셋 정보']['데이터셋 상세설명']
            attrs = set()
            for g in GARMENTS:
                for item in label['라벨링'].get(g, []):
                    if item:
                        attrs.add((g, 'present'))
                    for k, val in item.items():
                        for x in (val if isinstance(val, list) else [val]):
                            attrs.add((g, k, x))
            photos.append(dict(m=m, style=p['style'] or '', sub=p['substyle'] or '', fold=p['fold'], xv=v, attrs=attrs,
                               row=rows[p['image']], base=base, boxes=label.get('렉트좌표', {}),
                               x=nz(np.concatenate([nz(nz(v[k]) + nz(v[k + 1])) for k in range(0, len(v), 2)]))))
    return photos


def unmirrored(p):
    v = p['xv']
    return [nz(np.concatenate([nz(v[k]) for k in range(0, len(v), 2)]))]


def fit(X, T, W, l2vec):
    """Softmax regression with soft targets T, example weights W and an L2 penalty per class (L-BFGS)."""
    X = torch.tensor(X, dtype=torch.float32); T = torch.tensor(T, dtype=torch.float32)
    W = torch.tensor(W, dtype=torch.float32); lv = torch.tensor(l2vec, dtype=torch.float32)
    w = torch.zeros(X.shape[1], K, requires_grad=True); b = torch.zeros(K, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn='strong_wolfe', tolerance_grad=1e-6)

    def closure():
        opt.zero_grad()
        loss = -(W * (T * torch.log_softmax(X @ w + b, 1)).sum(1)).sum() + 0.5 * (lv * (w * w).sum(0)).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()


def examples(train, feat, weights, subw, aug):
    """'recipe' (as StyleHeadTrainer): soft target with the sub-style at subw, balanced by each class's mass.
    'favour': main style 1/count per class, sub-styles separate rows worth subw of a class. Both: the unmirrored
    views as extra rows at aug; weights normalised to the number of photos."""
    def has_sub(p):
        return subw > 0 and p['sub'] in SI and p['sub'] != p['style']
    X, T, W = [], [], []

    def add(p, t, w):
        for i, x in enumerate([feat(p)] + (unmirrored(p) if aug > 0 else [])):
            X.append(x); T.append(t); W.append(w * (aug if i else 1))

    def one_hot(s):
        t = np.zeros(K); t[SI[s]] = 1
        return t
    if weights == 'favour':
        count = collections.Counter(p['style'] for p in train)
        subcount = collections.Counter(p['sub'] for p in train if has_sub(p))
        for p in train:
            add(p, one_hot(p['style']), 1.0 / count[p['style']])
            if has_sub(p):
                add(p, one_hot(p['sub']), subw / subcount[p['sub']])
    else:
        mass = collections.Counter()
        for p in train:
            mass[p['style']] += 1 - (subw if has_sub(p) else 0)
            if has_sub(p):
                mass[p['sub']] += subw
        cw = np.array([sum(mass.values()) / (K * max(mass[s], 0.5)) for s in STY])
        for p in train:
            t = one_hot(p['style'])
            if has_sub(p):
                t = t * (1 - subw); t[SI[p['sub']]] = subw
            add(p, t, (t * cw).sum())
    W = np.array(W)
    return np.array(X), np.array(T), W * len(train) / W.sum()


def cv(feat=lambda p: p['x'], l2=200, subw=0.3, aug=0.5, weights='recipe', std=True, l2vec_fn=None):
    """Logits of every labelled photo from the head trained on the other four folds."""
    scores = {}
    for f in range(5):
        train = [p for p in P if p['fold'] != f and p['style']]
        X, T, W = examples(train, feat, weights, subw, aug)
        mu, sd = (X.mean(0), X.std(0) + 1e-6) if std else (0, 1)
        w, b = fit((X - mu) / sd, T, W, np.full(K, float(l2)) if l2vec_fn is None else l2vec_fn(train))
        for i, p in enumerate(P):
            if p['fold'] == f and p['style']:
                scores[i] = ((feat(p) - mu) / sd) @ w + b
    return scores


def metrics(S, Y):
    S = np.array(S); Y = np.array(Y)
    pred = S.argmax(1)
    top3 = np.mean([y in np.argsort(-s)[:3] for s, y in zip(S, Y)])
    f1 = [2 * ((pred == c) & (Y == c)).sum() / ((pred == c).sum() + (Y == c).sum()) for c in range(S.shape[1]) if (Y == c).any()]
    return (pred == Y).mean(), top3, np.mean(f1), len(set(pred))


def show(name, scores):
    by = {0: ([], []), 1: ([], [])}
    for i, s in scores.items():
        by[P[i]['m']][0].append(s); by[P[i]['m']][1].append(SI[P[i]['style']])
    print(name, '| 23: %.3f %.3f F1 %.3f named %d' % metrics(*by[1]), '| first: %.3f %.3f F1 %.3f' % metrics(*by[0])[:3], flush=True)


def gated(head, votes, nearest, T, a, c, s):
    """(1 − g)·softmax(head / T) + g·vote, g = a, or a / (1 + e^−(nearest − c)/s) when s > 0."""
    out = {}
    for i, z in head.items():
        e = np.exp((z - z.max()) / T)
        g = a if s == 0 else a / (1 + np.exp(-(nearest[i] - c) / s))
        out[i] = (1 - g) * e / e.sum() + g * votes[i]
    return out


def garment_vectors(photos):
    """Each photo's true AI Hub garment boxes (top, bottom, outer; a dress counts as top and bottom) cut from the
    photo in place, squared with black, 224 px, through the package's ResNet18 (fp32, torchvision) with its mirror:
    an upper bound for embedding garment crops beside the person. Kept in memory only (about 3 minutes)."""
    from PIL import Image
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'embedder-train'))
    import resnet_onnx as R
    nuget = os.path.join(os.environ.get('NUGET_PACKAGES') or os.path.expanduser('~/.nuget/packages'),
                         'microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels')
    net = R.load_nuget_resnet18(os.path.join(nuget, 'ResNet18Onnx/ResNet18.onnx')).eval()
    mean = R.read_mean_image(os.path.join(nuget, 'ResNetPrepOnnx/ResNetPreprocess.onnx'))

    def square(img):
        side = max(img.size)
        canvas = Image.new('RGB', (side, side))
        canvas.paste(img, ((side - img.size[0]) // 2, (side - img.size[1]) // 2))
        return np.asarray(canvas.resize((224, 224), Image.BOX))
    for p in photos:
        img = Image.open(os.path.join(p['base'], p['row']['image'])).convert('RGB')
        sx, sy = img.size[0] / float(p['row']['original_width']), img.size[1] / float(p['row']['original_height'])
        crops, kinds = [], []
        for g in GARMENTS:
            b = next((b for b in p['boxes'].get(g, []) if b and b.get('가로', 0) > 5 and b.get('세로', 0) > 5), None)
            if b is None:
                continue
            x0, y0 = max(0, int(b['X좌표'] * sx)), max(0, int(b['Y좌표'] * sy))
            x1 = min(img.size[0], int((b['X좌표'] + b['가로']) * sx)); y1 = min(img.size[1], int((b['Y좌표'] + b['세로']) * sy))
            if x1 - x0 >= 4 and y1 - y0 >= 4:
                c = square(img.crop((x0, y0, x1, y1)))
                crops += [c, c[:, ::-1]]; kinds.append(g)
        v = {}
        if crops:
            with torch.no_grad():
                z = nz(net(R.to_input(np.stack(crops), mean)).reshape(len(crops), -1).numpy())
            v = {g: nz(z[2 * k] + z[2 * k + 1]) for k, g in enumerate(kinds)}
        zero = np.zeros(512)
        p['parts'] = np.concatenate([v.get('상의', v.get('원피스', zero)), v.get('하의', v.get('원피스', zero)), v.get('아우터', zero)])


def domain_scores(l2):
    """Out-of-fold probability that a photo belongs to the 23-style sample (balanced logistic regression)."""
    out = {}
    for f in range(5):
        train = [p for p in P if p['fold'] != f]
        X = np.array([p['x'] for p in train]); y = np.array([p['m'] for p in train], dtype=float)
        mu, sd = X.mean(0), X.std(0) + 1e-6
        Xt = torch.tensor((X - mu) / sd, dtype=torch.float32); yt = torch.tensor(y, dtype=torch.float32)
        wt = torch.tensor(np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())), dtype=torch.float32)
        a = torch.zeros(X.shape[1], requires_grad=True); b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.LBFGS([a, b], max_iter=300, line_search_fn='strong_wolfe')

        def closure():
            opt.zero_grad()
            loss = (wt * torch.nn.functional.binary_cross_entropy_with_logits(Xt @ a + b, yt, reduction='none')).sum() \
                + 0.5 * l2 * (a * a).sum()
            loss.backward()
            return loss
        opt.step(closure)
        a, b = a.detach().numpy(), float(b.detach())
        for i, p in enumerate(P):
            if p['fold'] == f and p['style']:
                out[i] = 1 / (1 + np.exp(-(((p['x'] - mu) / sd) @ a + b)))
    return out


if __name__ == '__main__':
    P = load(sys.argv[1], halves='--halves' in sys.argv[2:])
    with_parts = '--parts' in sys.argv[2:]
    STY = sorted({p['style'] for p in P if p['style']}); SI = {s: i for i, s in enumerate(STY)}; K = len(STY)
    recipe = cv()
    show('recipe (standardised, L2 200)', recipe)
    counts = collections.Counter(a for p in P for a in p['attrs'])
    vocab = {a: i for i, a in enumerate(a for a, n in counts.items() if n >= 5)}
    for p in P:
        p['A'] = np.zeros(len(vocab))
        for a in p['attrs']:
            if a in vocab:
                p['A'][vocab[a]] = 1
    for l2 in (10, 50, 200):
        show(f'true attributes, L2 {l2}', cv(feat=lambda p: p['A'], l2=l2, aug=0))
    show('embedding + true attributes', cv(feat=lambda p: np.concatenate([p['x'], p['A']]), l2=200, aug=0))
    favour = {}
    for l2 in (0.2, 0.6):
        favour[l2] = cv(l2=l2, weights='favour', std=False)
        show(f'23-style-sample weights, raw, L2 {l2}', favour[l2])

    def per_class_l2(low, high):
        def l2vec(train):
            count = collections.Counter(p['style'] for p in train)
            return np.array([low if count[s] >= 50 else high for s in STY], dtype=float)
        return l2vec
    for high in (2000, 20000):
        show(f'per-class L2 200 / {high}', cv(l2vec_fn=per_class_l2(200, high)))

    # The 15 nearest labelled photos of the other folds, weighted exp(cos / 0.02), as the served mix votes.
    X = np.array([p['x'] for p in P]); F = np.array([p['fold'] for p in P])
    lab = np.array([SI.get(p['style'], -1) for p in P])
    votes, nearest = {}, {}
    for i in recipe:
        idx = np.where((F != P[i]['fold']) & (lab >= 0))[0]
        s = X[idx] @ P[i]['x']; top = np.argsort(-s)[:15]
        v = np.zeros(K)
        for j, wt in zip(idx[top], np.exp((s[top] - s[top].max()) / 0.02)):
            v[lab[j]] += wt
        votes[i] = v / v.sum(); nearest[i] = s[top[0]]
    for variant, head, T in (('recipe', recipe, 1), ('favour', favour[0.6], 0.05)):
        for a, c, s in ((0.6, 0, 0), (1, 0.88, 0.01), (1, 0.9, 0.02), (1, 0.92, 0.01)):
            show(f'{variant} head + vote, gate {a} c {c} s {s}', gated(head, votes, nearest, T, a, c, s))

    # A mixture of experts gated by the sample: (1 − d)·served mix + d·softmax(favouring head / 0.1), d the
    # out-of-fold probability that the photo is from the 23-style sample (sharpened: logit × 2).
    served = gated(recipe, votes, nearest, 1, 0.6, 0, 0)
    for l2 in (100, 1000):
        d = domain_scores(l2)
        ids = sorted(d)
        ranks = np.argsort(np.argsort([d[i] for i in ids]))
        pos = [r for r, i in zip(ranks, ids) if P[i]['m'] == 1]
        auc = (np.sum(pos) - len(pos) * (len(pos) - 1) / 2) / (len(pos) * (len(ids) - len(pos)))
        mix = {}
        for i in ids:
            q = min(max(d[i], 1e-6), 1 - 1e-6)
            g = 1 / (1 + np.exp(-2 * np.log(q / (1 - q))))
            e = np.exp((favour[0.6][i] - favour[0.6][i].max()) / 0.1)
            mix[i] = (1 - g) * served[i] + g * e / e.sum()
        show(f'sample-gated experts, domain L2 {l2} (AUC {auc:.3f})', mix)
    if with_parts:
        garment_vectors(P)
        show('recipe without the unmirrored view (what the garment lines add to)', cv(aug=0))
        show('garment crops alone (3 x 512)', cv(feat=lambda p: p['parts'], aug=0))
        show('embedding + garment crops', cv(feat=lambda p: np.concatenate([p['x'], p['parts']]), aug=0))
        show('favouring head, embedding + garment crops / 2',
             cv(feat=lambda p: np.concatenate([p['x'], p['parts'] / 2]), l2=0.6, weights='favour', std=False, aug=0))
