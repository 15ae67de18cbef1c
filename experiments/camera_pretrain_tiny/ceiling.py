"""How far can anything in front of a frozen tiny thinker go? Three probes, each an upper bound or a control.

    python experiments/camera_pretrain_tiny/ceiling.py soft-prompt --backbone FOLDER
    python experiments/camera_pretrain_tiny/ceiling.py oracle --backbone FOLDER --data FOLDER [--steps 300]
    python experiments/camera_pretrain_tiny/ceiling.py encoder --backbone FOLDER --data FOLDER [--train-backbone]

- soft-prompt: 32 free vectors on the `<|camera_pad|>` positions, optimised alone for ONE fixed caption.
  If the frozen model cannot be made to write even that, no camera encoder can teach it.
- oracle: one set of free vectors per gold caption class, picked by the gold label: the best any
  encoder could do, since an encoder must also tell the classes apart from the Plücker maps.
- encoder: the stage's own training step (encoder + projector), or with --train-backbone the thinker
  trained as well: not the stage (the stage freezes it), a control showing that the maps carry the motion.

FOLDER for --data is a `reade.data.camera_captions` output; `--backbone` any checkpoint folder.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from transformers import get_cosine_schedule_with_warmup

from reade.config.camera_pretrain import CameraDataConfig
from reade.config.compose import stage_settings
from reade.config.data import DataConfig
from reade.lit.camera_pretrain import CameraCaptionCollator, CameraPretrainDataModule, caption_loss
from reade.models.backbone import load_backbone
from reade.models.camera_encoder import splice_camera_tokens
from reade.models.prompt import ConditionBlock, chat_prompt, user_content
from reade.rewards.camera_motion import camera_motion_correct

TINY_CAMERA = dict(patch_size=2, hidden_size=32, depth=2, num_heads=2, mlp_ratio=2.0, max_frames=16, height=32, width=32)


def soft_prompt(args) -> None:
    model, processor = load_backbone(args.backbone, camera_encoder=TINY_CAMERA)
    thinker, embed = model.thinker.eval(), model.thinker.get_input_embeddings()
    thinker.requires_grad_(False)
    tokenizer = processor.tokenizer
    prompt = tokenizer.encode(chat_prompt(user_content([ConditionBlock("camera", 32)], "Describe the camera motion.")),
                              add_special_tokens=False)
    for caption in args.captions:
        target = tokenizer.encode(caption + "<|im_end|>", add_special_tokens=False)
        ids = torch.tensor([prompt + target])  # [1, P+T]
        labels = torch.full_like(ids, -100)
        labels[0, len(prompt):] = torch.tensor(target)
        soft = torch.nn.Parameter(0.02 * torch.randn(32, embed.embedding_dim))
        optimizer = torch.optim.Adam([soft], lr=args.lr)
        for _ in range(args.steps):
            inputs = {"input_ids": ids, "inputs_embeds": splice_camera_tokens(embed(ids), ids, soft, model.camera_pad_id),
                      "attention_mask": torch.ones_like(ids)}
            loss = caption_loss(thinker, inputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        head = ids[:, : len(prompt)]
        with torch.no_grad():
            out = thinker.generate(input_ids=head, inputs_embeds=splice_camera_tokens(embed(head), head, soft, model.camera_pad_id),
                                   attention_mask=torch.ones_like(head), max_new_tokens=12, do_sample=False)
        print(f"{caption!r}: loss {loss.item():.3f}, greedy {processor.decode(out[:, len(prompt):])[0]!r}", flush=True)


def _data(args, processor) -> CameraPretrainDataModule:
    folder = Path(args.data)
    settings = stage_settings(["stage=camera_pretrain", f"stage.batch_size={args.batch_size}", f"stage.eval.limit={args.eval}",
                               "stage.eval.batch_size=32"])
    settings = replace(settings, data=CameraDataConfig(train_file=str(folder / "train.jsonl"), test_file=str(folder / "test.jsonl"),
                                                       synthesize=None))
    dm = CameraPretrainDataModule(settings=settings, data=DataConfig(name="ceiling", train_file="", max_length=1024),
                                  processor=processor)
    dm.load()
    return dm


def train_and_score(args, camera_embeds, parameters, model, processor, dm) -> None:
    """`camera_embeds(batch, gold) -> [N_camera, D]`: what goes on the placeholders."""
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=0.01 if args.mode == "encoder" else 0.0)
    scheduler = get_cosine_schedule_with_warmup(optimizer, 20, args.steps)
    embed, thinker = model.thinker.get_input_embeddings(), model.thinker
    collator = CameraCaptionCollator(processor, with_targets=True, max_length=1024)
    train = dm.splits["train"]
    start, step, losses = time.time(), 0, []
    rng = np.random.default_rng(0)
    while step < args.steps:
        order = rng.permutation(len(train))
        for first in range(0, len(train) - args.batch_size + 1, args.batch_size):
            rows = [train[int(i)] for i in order[first: first + args.batch_size]]
            batch = collator(rows)
            ids = batch["input_ids"]
            inputs = {"input_ids": ids, "attention_mask": batch["attention_mask"],
                      "inputs_embeds": splice_camera_tokens(embed(ids), ids, camera_embeds(batch, [r["motions"] for r in rows]),
                                                            model.camera_pad_id)}
            loss = caption_loss(thinker, inputs, batch["labels"])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0:
                print(f"step {step}: loss {np.mean(losses[-50:]):.3f} ({time.time() - start:.0f} s)", flush=True)
            if step == args.steps:
                break
    right = total = 0
    thinker.eval()
    for batch in dm.test_dataloader():
        gold = batch.pop("motions")
        ids = batch["input_ids"]
        with torch.no_grad():
            spliced = splice_camera_tokens(embed(ids), ids, camera_embeds(batch, gold), model.camera_pad_id)
            out = thinker.generate(input_ids=ids, inputs_embeds=spliced, attention_mask=batch["attention_mask"],
                                   max_new_tokens=32, do_sample=False)
        for text, motions in zip(processor.decode(out[:, ids.shape[1]:]), gold):
            right += camera_motion_correct(text, motions)
            total += 1
    print(f"{args.mode}: held-out camera motion accuracy {right / total:.3f} ({right}/{total}) "
          f"after {args.steps} steps, {time.time() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["soft-prompt", "oracle", "encoder"])
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--data")
    parser.add_argument("--captions", nargs="+", default=["a slow pan left", "a slow zoom in"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval", type=int, default=128)
    parser.add_argument("--train-backbone", action="store_true")
    args = parser.parse_args()
    args.lr = args.lr or {"soft-prompt": 0.02, "oracle": 0.02, "encoder": 3e-3}[args.mode]
    torch.manual_seed(0)
    if args.mode == "soft-prompt":
        return soft_prompt(args)
    model, processor = load_backbone(args.backbone, camera_encoder=TINY_CAMERA)
    dm = _data(args, processor)
    model.thinker.requires_grad_(args.train_backbone)
    model.thinker.train(args.train_backbone)
    if args.mode == "oracle":
        classes = sorted({tuple(m) for m in dm.splits["train"]["motions"]})
        index = {c: i for i, c in enumerate(classes)}
        table = torch.nn.Parameter(0.02 * torch.randn(len(classes), 64, model.thinker.get_input_embeddings().embedding_dim))

        def camera_embeds(batch, gold):
            counts = (batch["input_ids"] == model.camera_pad_id).sum(1).tolist()
            return torch.cat([table[index[tuple(g)], :n] for g, n in zip(gold, counts)])

        parameters = [table]
    else:
        def camera_embeds(batch, gold):
            return model.camera_encoder(batch["camera_maps"])

        parameters = [p for p in model.parameters() if p.requires_grad]
    train_and_score(args, camera_embeds, parameters, model, processor, dm)


if __name__ == "__main__":
    main()
