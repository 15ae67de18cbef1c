"""Arm B's grounding runs of this experiment, as they ran (before `stage=ground` was on main).

Every training row whose conditions all carry a description becomes a describe-the-reference row;
AdamW with 20 warm-up steps and cosine decay; then the content-word recall of 128 test rows per kind,
and the checkpoint. `stage=ground` (reade/lit/ground.py) is the same recipe inside the pipeline.

    python experiments/condition_grounding/ground_script.py CAMERA_CKPT OUT 1500 1e-3 THREADS SEED DATA_DIR
"""
import json, sys, torch, random, time, math
from reade.models.backbone import load_backbone, save_checkpoint
from reade.data.condition_files import read_payloads
from reade.models.prompt import DESCRIBE_INSTRUCTION, describe_target, condition_labels
from reade.models.decoding import greedy_completions
ckpt, out, steps, lr, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
seed = int(sys.argv[6])
torch.set_num_threads(threads)
data = sys.argv[7]  # a synthetic dataset folder (train/test.jsonl and assets/)
torch.manual_seed(seed); random.seed(seed)
model, proc = load_backbone(ckpt)
def load(split):
    out = []
    for l in open(f"{data}/{split}.jsonl"):
        r = json.loads(l)
        cs = [{**c, "path": f"{data}/{c['path']}"} for c in r["conditions"]]
        if cs and all(c.get("description") for c in cs):
            out.append(cs)
    return out
train, test = load("train"), load("test")[:128]
print(len(train), len(test), flush=True)
def batch_of(items, targets=True):
    pay = [read_payloads({"id": "x", "conditions": cs}) for cs in items]
    tg = [describe_target([c["kind"] for c in cs], [c["description"] for c in cs]) for cs in items] if targets else None
    return dict(proc([DESCRIBE_INSTRUCTION] * len(items), pay, targets=tg))
opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
def evaluate():
    model.eval(); words, tot = {}, {}
    for i in range(0, len(test), 32):
        chunk = test[i:i+32]
        outs = greedy_completions(model, proc, batch_of(chunk, False), 120)
        for o, cs in zip(outs, chunk):
            lines = dict(l.split(":", 1) for l in o.strip().split("\n") if ":" in l)
            for label, c in zip(condition_labels([c["kind"] for c in cs]), cs):
                got = lines.get(label[:-1], "")
                gw = set(c["description"].replace(",", "").split()) - {"a", "an", "with", "in", "the", "and"}
                k = c["kind"]
                words[k] = words.get(k, 0) + len(gw & set(got.replace(",", " ").replace(".", " ").split())); tot[k] = tot.get(k, 0) + len(gw)
    model.train(); return {k: round(words[k] / tot[k], 3) for k in tot}
t = time.time()
model.train()
for step in range(1, steps + 1):
    b = batch_of(random.sample(train, 32))
    loss = model(**b).loss
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sched.step()
    if step % 250 == 0 or step == steps:
        print(step, round(loss.item(), 3), round(time.time() - t), flush=True)
print("content-word recall", evaluate(), flush=True)
save_checkpoint(model, proc, out)
print("saved", out, round(time.time() - t), flush=True)
