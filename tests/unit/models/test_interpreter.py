"""The interpreter wrapper: camera tokens spliced into the thinker's input, generation through
`inputs_embeds`, one checkpoint folder for thinker + encoder, LoRA on the thinker only."""

from __future__ import annotations

import pytest
import torch
from peft import PeftModel

from reade.data.synthetic.trajectory import camera_trajectory
from reade.models.backbone import load_backbone, save_checkpoint
from reade.models.camera_encoder import CONFIG_FILE, WEIGHTS_FILE
from reade.models.camera_input import INPUT_FILE
from reade.models.interpreter import InterpreterModel, target_loss

TINY_CAMERA = dict(patch_size=2, hidden_size=32, depth=2, num_heads=2, mlp_ratio=2.0, max_frames=16, height=32, width=32)
LORA = {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


@pytest.fixture(scope="module")
def interpreter(tiny_dir):
    torch.manual_seed(0)
    model, processor = load_backbone(tiny_dir, camera_encoder=TINY_CAMERA)
    return model.eval(), processor


def camera_batch(processor, media, targets=None):
    conditions = [
        [("identity", media["image"]), ("camera", camera_trajectory("pan left", 6)), ("audio", media["audio"])],
        [("camera", camera_trajectory("zoom in", 20)), ("depth", media["frames"][:3])],
    ]
    return processor(["Describe the camera motion.", "rain"], conditions, targets)


def logits(model, batch):
    with torch.no_grad():
        return model(**batch).logits


def test_a_new_encoder_gets_the_backbones_width(interpreter):
    model, processor = interpreter
    assert isinstance(model, InterpreterModel)
    assert model.camera_encoder.config.out_hidden_size == model.thinker.get_input_embeddings().embedding_dim == 128
    assert processor.camera is not None and model.camera_pad_id == processor.camera_pad_id
    assert model.generation_config is model.thinker.generation_config  # everything else is the thinker's


def test_without_camera_it_is_exactly_the_thinker(interpreter, tiny_dir, media):
    model, processor = interpreter
    thinker, plain = load_backbone(tiny_dir)
    batch = processor(["Make it rain"], [[("identity", media["image"]), ("audio", media["audio"])]])
    assert torch.equal(logits(model, batch), logits(thinker.eval(), batch))


def test_spliced_camera_tokens_change_what_follows(interpreter, media):
    model, processor = interpreter
    batch = camera_batch(processor, media)
    with_camera = logits(model, batch)
    raw = {k: v for k, v in batch.items() if k != "camera_maps"}
    with torch.no_grad():
        placeholders = model.thinker(**raw).logits  # the <|camera_pad|> embedding itself at those positions
    first = int((batch["input_ids"][0] == model.camera_pad_id).nonzero()[0, 0])
    torch.testing.assert_close(with_camera[:, :first], placeholders[:, :first])  # causal: nothing before changes
    assert not torch.allclose(with_camera[:, -1], placeholders[:, -1])
    other = dict(batch, camera_maps=[m.flip(0) for m in batch["camera_maps"]])  # the path played backwards
    assert not torch.allclose(logits(model, other)[:, -1], with_camera[:, -1])


def test_camera_pads_without_maps_are_an_error(interpreter, media):
    model, processor = interpreter
    batch = {k: v for k, v in camera_batch(processor, media).items() if k != "camera_maps"}
    with pytest.raises(ValueError, match="no camera_maps"):
        model(**batch)


def test_generate_matches_greedy_decoding_by_full_forwards(interpreter, media):
    model, processor = interpreter
    batch = camera_batch(processor, media)
    prompt = batch["input_ids"].shape[1]
    generated = model.generate(**batch, max_new_tokens=6, do_sample=False)
    assert torch.equal(generated[:, :prompt], batch["input_ids"])
    sequence = batch["input_ids"]
    for _ in range(6):
        step = dict(batch, input_ids=sequence,
                    attention_mask=torch.cat([batch["attention_mask"], torch.ones_like(sequence[:, prompt:])], dim=1))
        next_logits = logits(model, step)[:, -1]
        next_logits[:, processor.suppressed_ids] = float("-inf")
        sequence = torch.cat([sequence, next_logits.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generated, sequence)


def test_target_loss_is_the_thinkers_loss_and_gradient(interpreter, media):
    """Equal to the loss the thinker computes from the logits of every position, to 1e-5, and so
    are the gradients it sends into the camera encoder and the thinker."""
    model, processor = interpreter
    batch = camera_batch(processor, media, ["a slow pan left", "a slow zoom in"])
    grads = []
    for loss_of in (lambda: model(**batch).loss, lambda: target_loss(model, **batch)):
        model.zero_grad()
        loss = loss_of()
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (expected, expected_grads), (loss, loss_grads) = grads
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)
    assert len(loss_grads) == len(expected_grads) > 0
    for grad, expected_grad in zip(loss_grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-5)


def test_one_checkpoint_folder_round_trips(interpreter, media, tmp_path):
    model, processor = interpreter
    with torch.no_grad():
        for parameter in model.camera_encoder.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))  # not the freshly initialised weights
    folder = save_checkpoint(model, processor, tmp_path / "ckpt")
    for name in (WEIGHTS_FILE, CONFIG_FILE, INPUT_FILE, "config.json", "model.safetensors"):
        assert (folder / name).is_file(), name
    reloaded, reprocessor = load_backbone(folder, camera_encoder={"hidden_size": 64})  # the folder's own wins
    assert isinstance(reloaded, InterpreterModel) and reprocessor.camera == processor.camera
    batch = camera_batch(processor, media)
    assert torch.equal(logits(model, batch), logits(reloaded.eval(), batch))


def test_lora_wraps_the_thinker_and_the_encoder_trains_in_full(tiny_dir, media, tmp_path):
    model, processor = load_backbone(tiny_dir, lora=LORA, camera_encoder=TINY_CAMERA)
    assert isinstance(model.thinker, PeftModel)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    encoder = [f"camera_encoder.{name}" for name, _ in model.camera_encoder.named_parameters()]
    assert set(encoder) <= set(trainable)
    assert all("lora_" in name for name in set(trainable) - set(encoder))
    batch = camera_batch(processor, media, ["a slow pan left", "a slow zoom in"])
    with torch.no_grad():
        torch.testing.assert_close(target_loss(model, **batch), model(**batch).loss, rtol=1e-5, atol=1e-5)
    target_loss(model, **batch).backward()
    assert all(p.grad is not None for p in model.camera_encoder.parameters())
    assert all(p.grad is not None for name, p in model.named_parameters() if "lora_" in name)
    reloaded, _ = load_backbone(save_checkpoint(model, processor, tmp_path / "ckpt"))
    assert isinstance(reloaded.thinker, type(model.thinker.get_base_model()))
    torch.testing.assert_close(logits(model.eval(), batch), logits(reloaded.eval(), batch))


def test_bad_camera_encoder_sizes_are_named(tiny_dir):
    with pytest.raises(ValueError, match="out_hidden_size is the backbone's width"):
        load_backbone(tiny_dir, camera_encoder={**TINY_CAMERA, "out_hidden_size": 64})
    with pytest.raises(ValueError, match="unknown keys"):
        load_backbone(tiny_dir, camera_encoder={**TINY_CAMERA, "layers": 3})


def test_target_loss_of_a_bare_thinker_is_its_own_loss(interpreter, media):
    """SFT without a camera encoder (condition=text, identity, ...) trains the thinker itself."""
    model, processor = interpreter
    batch = processor(["rain", "a dog"], [[("identity", media["image"])], []], ["a grey sky", "a dog runs"])
    with torch.no_grad():
        torch.testing.assert_close(target_loss(model.thinker, **batch), model.thinker(**batch).loss, rtol=1e-5, atol=1e-5)
