# The CPU probe of 2026-12-03 (results/recall/attempts/README.md), run against commit c5047a1, before the
# head was tied in recall/model.py: --tie and --embinit patched the model then. From the worktree root:
#   PYTHONPATH=src python results/recall/attempts/2026-12-03-plateau-probe.py --steps 400 [--tie --init]
import argparse, math, time, sys
import torch, torch.nn.functional as F
from torch import nn
torch.set_num_threads(1)
from archclass.recall.model import RecallLM
from archclass.recall.mqar import MQARConfig, IGNORE
from archclass.recall.train import TrainConfig, training_batches
from archclass.reference import catalog
p = argparse.ArgumentParser()
p.add_argument("--arch", default="softmax-attention"); p.add_argument("--d", type=int, default=64)
p.add_argument("--V", type=int, default=1024); p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--steps", type=int, default=400); p.add_argument("--batch", type=int, default=32)
p.add_argument("--mix", default="zoo"); p.add_argument("--tie", action="store_true"); p.add_argument("--init", action="store_true")
p.add_argument("--warmup", type=int, default=20); p.add_argument("--wd", type=float, default=0.1)
p.add_argument("--embinit", action="store_true"); p.add_argument("--nomlp", action="store_true"); p.add_argument("--every", type=int, default=25)
a = p.parse_args()
mixes = {"zoo": ((64,4,100_000),(128,8,20_000),(256,16,20_000),(256,32,20_000),(256,64,20_000)),
         "easy": ((64,4,1.0),), "short": ((64,4,100_000),(128,8,20_000))}
cfg = TrainConfig(arch=a.arch, d_model=a.d, vocab=a.V, pairs=(4,), seq_len=64, batch_size=a.batch, train_mix=mixes[a.mix], steps=a.steps)
batches = training_batches(cfg)
torch.manual_seed(0)
model = RecallLM(catalog()[a.arch], MQARConfig(a.V, 4, 64).total_vocab, a.d)
if a.nomlp:
    for b in model.blocks: b.mlp = nn.Identity()
if a.init:
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None: nn.init.zeros_(m.bias)
if a.embinit:
    nn.init.normal_(model.embed.weight, std=0.02)
if a.tie:
    model.head.weight = model.embed.weight
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s+1)/a.warmup) * 0.5*(1+math.cos(math.pi*min(s,a.steps)/a.steps)))
lnV = math.log(a.V); t0 = time.time(); run = []; left = None; curve = []
for step in range(a.steps):
    b = batches(step); m = b.targets != IGNORE
    logits = model(b.inputs, m)
    loss = F.cross_entropy(logits, b.targets[m])
    acc = (logits.argmax(-1) == b.targets[m]).float().mean().item()
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sched.step()
    run.append((loss.item(), acc))
    if (step+1) % a.every == 0:
        l = sum(x for x,_ in run)/len(run); ac = sum(y for _,y in run)/len(run); run = []
        curve.append(f"{step+1}:{l:.2f}/{ac:.2f}")
        if left is None and l < 0.8*lnV: left = step+1
print(" ".join(sys.argv[1:]), f"| left plateau at {left} | {time.time()-t0:.0f}s |", " ".join(curve), flush=True)
