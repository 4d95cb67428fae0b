#!/usr/bin/env python3
"""Style-head probe (research, not the product): the 23-style experiments of docs/evaluation.md ("What was tried",
the tools/style-probe rows) on the engine's cached vectors, in PyTorch (Debian's python3-torch).

    otchatsa embedder data --data ../shared/data/kfashion/manifest.csv --data ../shared/data/kfashion23/manifest.csv --out /tmp/ed
    /usr/bin/python3 tools/style-probe/probe.py /tmp/ed

It reads the cache and the label JSON files in place (nothing is copied) and prints head-alone and gated-mix numbers
over eval's five product-disjoint folds: the engine's recipe, the true-garment-attribute ceiling, the class weights
that favour the 23-style sample, and the similarity-gated neighbour vote. Settings were tuned on these same folds.
"""
import json, csv, os, sys, collections
import numpy as np, torch
torch.set_num_threads(2)

def read_unit(path, dims=512):
    data=open(path,'rb').read()
    size=32+4*dims; n=(len(data)-12)//size
    arr=np.frombuffer(data,dtype=np.uint8,count=n*size,offset=12).reshape(n,size)
    fl=arr[:,32:].copy().view(np.float32)
    return {arr[i,:32].tobytes().hex(): fl[i] for i in range(n)}
UNITS=['crop','crop~mirror','whole','whole~mirror']
def nz(x): return x/np.linalg.norm(x,axis=-1,keepdims=True)
GARM=['상의','하의','아우터','원피스']
def load(folder):
    out=[]
    for m,name in enumerate(['kfashion','kfashion23']):
        d=json.load(open(os.path.join(folder, f'{name}.json')))
        units={u:read_unit(os.path.join(d['cache'],d['units'][u]+'.bin')) for u in UNITS}
        base=os.path.dirname(d['manifest'])
        rows={r['image']:r for r in csv.DictReader(open(d['manifest']))}
        for p in d['photos']:
            v=[units[u].get(p['key']) for u in UNITS]
            if any(x is None for x in v): continue
            v=np.stack(v)
            crop=nz(nz(v[0])+nz(v[1])); whole=nz(nz(v[2])+nz(v[3]))
            served=nz(np.concatenate([crop,whole]))
            o=None
            if p.get('other_key'):
                ov=[units[u].get(p['other_key']) for u in UNITS]
                if all(x is not None for x in ov):
                    ov=np.stack(ov); o=nz(np.concatenate([nz(nz(ov[0])+nz(ov[1])),nz(nz(ov[2])+nz(ov[3]))]))
            lab=json.load(open(os.path.join(base,rows[p['image']]['label'])))['데이터셋 정보']['데이터셋 상세설명']['라벨링']
            attrs=set()
            for g in GARM:
                for item in lab.get(g,[]):
                    if item: attrs.add((g,'present'))
                    for k,val in item.items():
                        vals=val if isinstance(val,list) else [val]
                        for x in vals: attrs.add((g,k,x))
            out.append(dict(m=m,style=p['style'] or '',sub=p['substyle'] or '',group=p['group'],fold=p['fold'],x=served,xv=v,other=o,attrs=attrs,backdrop_fold=p.get('backdrop_fold')))
    return out

def nz(x): return x/np.linalg.norm(x,axis=-1,keepdims=True)
def fit(X, T, W, l2, l2vec=None, iters=300):
    X=torch.tensor(X,dtype=torch.float32); T=torch.tensor(T,dtype=torch.float32); W=torch.tensor(W,dtype=torch.float32)
    d=X.shape[1]
    lv=torch.full((K,),float(l2)) if l2vec is None else torch.tensor(l2vec,dtype=torch.float32)
    w=torch.zeros(d,K,requires_grad=True); b=torch.zeros(K,requires_grad=True)
    opt=torch.optim.LBFGS([w,b],max_iter=iters,line_search_fn='strong_wolfe',tolerance_grad=1e-6)
    def closure():
        opt.zero_grad()
        lp=torch.log_softmax(X@w+b,1)
        l=-(W*(T*lp).sum(1)).sum()+0.5*(lv*(w*w).sum(0)).sum()
        l.backward(); return l
    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()
def rows_sep(train, feat, subw=0.3, aug=0.5, augfeat=None, subtotal=True):
    cnt=collections.Counter(p['style'] for p in train if p['style'])
    scnt=collections.Counter(p['sub'] for p in train if p['sub'] and p['sub'] in SI and p['sub']!=p['style'])
    X=[];T=[];W=[]
    def add(x,k,w,p):
        t=np.zeros(K); t[k]=1
        X.append(x); T.append(t); W.append(w)
        if aug>0 and augfeat:
            for a in augfeat(p): X.append(a); T.append(t); W.append(w*aug)
    for p in train:
        if not p['style']: continue
        add(feat(p),SI[p['style']],1.0/cnt[p['style']],p)
        if subw>0 and p['sub'] in scnt:
            add(feat(p),SI[p['sub']],subw/(scnt[p['sub']] if subtotal else cnt[p['sub']]),p)
    X=np.array(X);T=np.array(T);W=np.array(W)
    W=W*len(train)/W.sum()
    return X,T,W
MODE={'rows':None}
def rows(train, feat, subw=0.3, aug=0.5, augfeat=None):
    if MODE['rows']: return MODE['rows'](train,feat,subw,aug,augfeat)
    cnt=collections.Counter(p['style'] for p in train if p['style'])
    mass=collections.Counter(); 
    for p in train:
        if not p['style']: continue
        hs=p['sub'] and p['sub'] in SI and p['sub']!=p['style'] and subw>0
        mass[p['style']]+=1-(subw if hs else 0)
        if hs: mass[p['sub']]+=subw
    tot=sum(mass.values())
    cw=np.array([tot/(K*max(mass[s],0.5)) for s in STY])
    X=[];T=[];W=[]
    for p in train:
        if not p['style']: continue
        t=np.zeros(K); hs=p['sub'] and p['sub'] in SI and p['sub']!=p['style'] and subw>0
        if hs: t[SI[p['style']]]=1-subw; t[SI[p['sub']]]=subw
        else: t[SI[p['style']]]=1
        w=(t*cw).sum()
        X.append(feat(p)); T.append(t); W.append(w)
        if aug>0 and augfeat:
            for a in augfeat(p): X.append(a); T.append(t); W.append(w*aug)
    X=np.array(X);T=np.array(T);W=np.array(W)
    W=W*len(train)/W.sum()
    return X,T,W
def metrics(S, Y):
    S=np.array(S); Y=np.array(Y)
    top1=(S.argmax(1)==Y).mean(); top3=np.mean([y in np.argsort(-s)[:3] for s,y in zip(S,Y)])
    pred=S.argmax(1); f=[]
    for c in range(S.shape[1]):
        if (Y==c).sum()==0: continue
        tp=((pred==c)&(Y==c)).sum(); pp=(pred==c).sum(); ap=(Y==c).sum()
        f.append(0 if tp==0 else 2*tp/(pp+ap))
    return top1,top3,np.mean(f),len(set(pred))
def unmirrored(p):
    v=p['xv']; return [nz(np.concatenate([nz(v[0]),nz(v[2])]))]
def cv(feat=lambda p:p['x'], l2=200, subw=0.3, aug=0.5, augfeat=unmirrored, l2vec_fn=None, post=None, std=True):
    S=[];Y=[];S1=[];Y1=[]
    for f in range(5):
        train=[p for p in P if p['fold']!=f and p['style']]; test=[p for p in P if p['fold']==f and p['style']]
        X,T,W=rows(train,feat,subw,aug,augfeat)
        mu=X.mean(0); sd=X.std(0)+1e-6
        if not std: mu=mu*0; sd=sd*0+1
        l2vec=None if l2vec_fn is None else l2vec_fn(train)
        w,b=fit((X-mu)/sd,T,W,l2,l2vec)
        for p in test:
            s=((feat(p)-mu)/sd)@w+b
            if post: s=post(s)
            (S if p['m']==1 else S1).append(s); (Y if p['m']==1 else Y1).append(SI[p['style']])
    return metrics(S,Y), metrics(S1,Y1), (S,Y,S1,Y1)
def show(name,r):
    print(name,'| 23: %.3f %.3f F1 %.3f named %d'%r[0],'| first: %.3f %.3f F1 %.3f'%r[1][:3],flush=True)


def gated(H, V, MS, T, a, c, s):
    def sm(z):
        z = z / T; z = z - z.max(); e = np.exp(z); return e / e.sum()
    S = []; Y = []; S1 = []; Y1 = []
    for i in sorted(V):
        g = a if s == 0 else a / (1 + np.exp(-(MS[i] - c) / s))
        p = (1 - g) * sm(H[i]) + g * V[i]
        (S if P[i]['m'] == 1 else S1).append(p); (Y if P[i]['m'] == 1 else Y1).append(SI[P[i]['style']])
    return metrics(S, Y), metrics(S1, Y1)

if __name__ == '__main__':
    P = load(sys.argv[1])
    STY = sorted({p['style'] for p in P if p['style']}); SI = {s: i for i, s in enumerate(STY)}; K = len(STY)
    show('recipe (standardised, L2 200)', cv())
    counts = collections.Counter(a for p in P for a in p['attrs'])
    vocab = {a: i for i, a in enumerate(a for a, n in counts.items() if n >= 5)}
    for p in P:
        p['A'] = np.zeros(len(vocab))
        for a in p['attrs']:
            if a in vocab: p['A'][vocab[a]] = 1
    for l2 in (10, 50, 200):
        show(f'true attributes, L2 {l2}', cv(feat=lambda p: p['A'], l2=l2, aug=0))
    show('embedding + true attributes', cv(feat=lambda p: np.concatenate([p['x'], p['A']]), l2=200, aug=0))
    MODE['rows'] = rows_sep
    for l2 in (0.2, 0.6):
        show(f'23-style-sample weights, raw, L2 {l2}', cv(l2=l2, std=False))
    MODE['rows'] = None
    def per_class_l2(low, high):
        return lambda train: np.array([low if n >= 50 else high for n in (collections.Counter(p['style'] for p in train)[c] for c in STY)])
    for high in (2000, 20000):
        show(f'per-class L2 200 / {high}', cv(l2vec_fn=per_class_l2(200, high)))
    X = np.array([p['x'] for p in P]); F = np.array([p['fold'] for p in P])
    lab = np.array([SI.get(p['style'], -1) for p in P])
    H = {}
    V = {}; MS = {}
    for variant in ('recipe', 'favour'):
        H[variant] = {}
        MODE['rows'] = rows_sep if variant == 'favour' else None
        std, l2 = (False, 0.6) if variant == 'favour' else (True, 200)
        for f in range(5):
            train = [p for p in P if p['fold'] != f and p['style']]
            Xt, T, W = rows(train, lambda p: p['x'], 0.3, 0.5, unmirrored)
            mu = Xt.mean(0) if std else 0; sd = Xt.std(0) + 1e-6 if std else 1
            w, b = fit((Xt - mu) / sd, T, W, l2)
            for i, p in enumerate(P):
                if p['fold'] == f and p['style']: H[variant][i] = ((p['x'] - mu) / sd) @ w + b
    MODE['rows'] = None
    # The 15 nearest labelled photos of the other folds, weighted exp(cos / 0.02), as the served mix votes.
    for i, p in enumerate(P):
        if not p['style']: continue
        idx = np.where((F != p['fold']) & (lab >= 0))[0]
        s = X[idx] @ p['x']; top = np.argsort(-s)[:15]
        v = np.zeros(K)
        for j, wt in zip(idx[top], np.exp((s[top] - s[top].max()) / 0.02)): v[lab[j]] += wt
        V[i] = v / v.sum(); MS[i] = s[top[0]]
    for variant, T in (('recipe', 1), ('favour', 0.05)):
        for a, c, s in ((0.6, 0, 0), (1, 0.88, 0.01), (1, 0.9, 0.02), (1, 0.92, 0.01)):
            show(f'{variant} head + vote, gate {a} c {c} s {s}', gated(H[variant], V, MS, T, a, c, s))
