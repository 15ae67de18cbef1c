"""Structured-config schemas registered in Hydra's ConfigStore.

Each YAML option names its schema first in its defaults list (`- base_backbone`, Hydra's schema
pattern), so a
misspelt key in a YAML file or a `+key=value` override is an error at compose time, and a value of
the wrong type (`stage.optimizer.lr=fast`) is rejected before any model is built.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from reade.camera_vocab import KINDS, SPEEDS
from reade.errors import ConfigError
from reade.inference.generator_prompts import GeneratorWindow
from reade.models.tiny import TinyDims


@dataclass
class PathsConfig:
    root_dir: str = MISSING
    data_dir: str = MISSING
    log_dir: str = MISSING
    cache_dir: str = MISSING
    # None only where Hydra has no run folder (`--cfg job --resolve`).
    output_dir: Optional[str] = MISSING


@dataclass
class LoraConfig:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class CameraEncoderNode:
    """A new camera encoder (reade.models.camera_encoder.CameraEncoderConfig; its `out_hidden_size` is
    the backbone's width) and the maps it reads: at most `max_frames` frames rendered at
    `height` x `width` pixels (reade.models.camera_input). Defaults are the paper's ViT (D.3) on
    CameraCtrl-sized clips: 16 frames at 256 x 384, 48 camera tokens a trajectory."""

    in_channels: int = 96
    patch_size: int = 16
    temporal_patch_size: int = 2
    merge_size: int = 2
    hidden_size: int = 1280
    depth: int = 8
    num_heads: int = 8
    mlp_ratio: float = 4.0
    norm_eps: float = 1e-6
    max_frames: int = 16
    height: int = 256
    width: int = 384


@dataclass
class BackboneConfig:
    """`tiny` set: build the embedded model offline; otherwise load `name_or_path` (hub id or folder).

    `camera_encoder`: a freshly initialised camera encoder to add when the folder has none; it is
    the stage's `camera_encoder` (stage=camera_pretrain sets one) unless set here. A folder that
    holds a trained encoder always loads its own.
    """

    name: str = MISSING
    kind: str = "omni_thinker"
    name_or_path: Optional[str] = None
    tiny: Optional[TinyDims] = None
    seed: int = 0
    dtype: str = "float32"
    attn_implementation: Optional[str] = None
    lora: LoraConfig = field(default_factory=LoraConfig)
    camera_encoder: Any = "${oc.select:stage.camera_encoder,null}"


@dataclass
class ConditionConfig:
    """Which condition kinds reach the interpreter (the others are dropped and counted at load).
    `encoder_stage` names the stage that trains the encoder these kinds need (camera trajectories: a
    camera encoder, `stage=camera_pretrain`, DESIGN.md section 1); conf/stage/sft.yaml starts from it."""

    name: str = MISSING
    kinds: list[str] = field(default_factory=list)
    encoder_stage: Optional[str] = None


@dataclass
class SynthesizeConfig:
    n_train: int = 512
    n_val: int = 32
    n_test: int = 256
    seed: int = 0


@dataclass
class DataConfig:
    name: str = MISSING
    train_file: str = MISSING
    val_file: Optional[str] = None
    test_file: Optional[str] = None
    synthesize: Optional[SynthesizeConfig] = None
    on_error: str = "raise"
    num_workers: int = 0
    max_length: int = 1024


@dataclass
class OptimizerConfig:
    _target_: str = "torch.optim.AdamW"
    _partial_: bool = True
    lr: float = 1e-5
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class SchedulerConfig:
    _target_: str = "transformers.get_cosine_schedule_with_warmup"
    _partial_: bool = True
    num_warmup_steps: int = 200


@dataclass
class EvalConfig:
    """Greedy decoding of held-out instructions, before and after training."""

    limit: int = 32
    batch_size: int = 8
    max_new_tokens: int = 768
    untrained: bool = True
    # After training, the per-aspect caption metrics of `reade.evaluate` (eval/acc_*, eval/quality_*)
    # of the outputs the test loop decoded, with the run's judge; the rows need key_elements.
    captions: bool = True
    # The same for the model the stage starts from (eval/acc_*_before): what GRPO did to the
    # captions; off where that model is untrained (its outputs take minutes to judge and find nothing).
    captions_before: bool = False


@dataclass
class SFTModuleConfig:
    _target_: str = "reade.lit.sft.SFTModule"
    optimizer: Any = "${stage.optimizer}"
    scheduler: Any = "${stage.scheduler}"
    max_new_tokens: int = "${stage.eval.max_new_tokens}"  # type: ignore[assignment]
    samples_path: str = "${paths.output_dir}/eval_samples{tag}.jsonl"
    frozen: list[str] = "${stage.frozen}"  # type: ignore[assignment]


@dataclass
class SFTDataModuleConfig:
    _target_: str = "reade.lit.sft.SFTDataModule"
    train_file: str = "${data.train_file}"
    val_file: Optional[str] = "${data.val_file}"
    test_file: Optional[str] = "${data.test_file}"
    kinds: list[str] = "${condition.kinds}"  # type: ignore[assignment]
    synthesize: Any = "${data.synthesize}"
    on_error: str = "${data.on_error}"
    batch_size: int = "${stage.batch_size}"  # type: ignore[assignment]
    eval_batch_size: int = "${stage.eval.batch_size}"  # type: ignore[assignment]
    eval_limit: int = "${stage.eval.limit}"  # type: ignore[assignment]
    instruction_dropout: float = "${stage.instruction_dropout}"  # type: ignore[assignment]
    describe_fraction: float = "${stage.describe_fraction}"  # type: ignore[assignment]
    max_length: int = "${data.max_length}"  # type: ignore[assignment]
    num_workers: int = "${data.num_workers}"  # type: ignore[assignment]
    reasoning: bool = "${stage.reasoning}"  # type: ignore[assignment]


@dataclass
class SFTStageConfig:
    """The recipe lives in the scalars; `module`/`datamodule` are the `_target_` nodes built from it."""

    name: str = "sft"
    # The stage whose finished run gives the starting weights (conf/stage/sft.yaml declares it, and
    # reade.utils.chain reads it); `init_checkpoint` names a folder instead.
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    # The metric returned to a sweeper (reade.utils.metrics.objective); each stage file names its own.
    optimized_metric: Optional[str] = None
    batch_size: int = 6
    accumulate_grad_batches: int = 2
    max_steps: int = -1
    max_epochs: int = 3
    val_check_interval: Optional[float] = None
    gradient_clip_val: float = 1.0
    log_every_n_steps: int = 10
    instruction_dropout: float = 0.4
    # The share of training rows whose conditions all carry a description that become
    # describe-the-reference rows (reade.data.collate.InterpreterCollator): 0 on a pretrained backbone.
    describe_fraction: float = 0.0
    # Targets hold the <think> trace before the answer; false: the answer alone (stage=sft_no_cot).
    reasoning: bool = True
    # Module paths left as the starting checkpoint has them (reade.models.freezing), e.g.
    # [visual, audio_tower] after a grounding stage trained the towers.
    frozen: list[str] = field(default_factory=list)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    module: SFTModuleConfig = field(default_factory=SFTModuleConfig)
    datamodule: SFTDataModuleConfig = field(default_factory=SFTDataModuleConfig)


@dataclass
class CameraSynthesizeConfig:
    """Synthetic camera-to-text data (reade.data.camera_captions), written on first use."""

    n_train: int = 4096
    n_val: int = 64
    n_test: int = 256
    seed: int = 0
    combined_fraction: float = 0.4
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    speeds: list[str] = field(default_factory=lambda: list(SPEEDS))


@dataclass
class CameraDataConfig:
    """Camera-to-text JSONL splits: rows with one camera condition each, labelled by the describer.
    With `synthesize` set, the splits are generated into `train_file`'s folder on first use."""

    train_file: str = MISSING
    val_file: Optional[str] = None
    test_file: Optional[str] = None
    synthesize: Optional[CameraSynthesizeConfig] = field(default_factory=CameraSynthesizeConfig)


@dataclass
class CameraPretrainModuleConfig:
    _target_: str = "reade.lit.camera_pretrain.CameraPretrainModule"
    optimizer: Any = "${stage.optimizer}"
    scheduler: Any = "${stage.scheduler}"
    max_new_tokens: int = "${stage.eval.max_new_tokens}"  # type: ignore[assignment]
    train_backbone: bool = "${stage.train_backbone}"  # type: ignore[assignment]
    samples_path: str = "${paths.output_dir}/eval_samples{tag}.jsonl"


@dataclass
class CameraPretrainDataModuleConfig:
    _target_: str = "reade.lit.camera_pretrain.CameraPretrainDataModule"
    train_file: str = "${stage.data.train_file}"
    val_file: Optional[str] = "${stage.data.val_file}"
    test_file: Optional[str] = "${stage.data.test_file}"
    synthesize: Any = "${stage.data.synthesize}"
    on_error: str = "${data.on_error}"
    batch_size: int = "${stage.batch_size}"  # type: ignore[assignment]
    eval_batch_size: int = "${stage.eval.batch_size}"  # type: ignore[assignment]
    eval_limit: int = "${stage.eval.limit}"  # type: ignore[assignment]
    max_length: int = "${data.max_length}"  # type: ignore[assignment]
    num_workers: int = "${data.num_workers}"  # type: ignore[assignment]


@dataclass
class CameraPretrainStageConfig:
    """Camera encoder pretraining (DESIGN.md section 1): camera-to-text on trajectories labelled by
    the describer, the backbone frozen, the camera encoder (ViT + projector) trained. Its data is its
    own (`stage.data`): the `data` group feeds the SFT and GRPO stages. `upstream` / `init_checkpoint`
    name the frozen backbone's weights as for GRPO (reade.utils.chain); none: the backbone itself."""

    name: str = "camera_pretrain"
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    optimized_metric: Optional[str] = None
    train_backbone: bool = False  # True trains the thinker too (the tiny profile: its thinker is no pretrained LM)
    batch_size: int = 32
    accumulate_grad_batches: int = 1
    max_steps: int = -1
    max_epochs: int = 3
    val_check_interval: Optional[float] = None
    gradient_clip_val: float = 1.0
    log_every_n_steps: int = 10
    camera_encoder: CameraEncoderNode = field(default_factory=CameraEncoderNode)
    data: CameraDataConfig = field(default_factory=CameraDataConfig)
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=1e-4))
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(limit=256, batch_size=32, max_new_tokens=32))
    module: CameraPretrainModuleConfig = field(default_factory=CameraPretrainModuleConfig)
    datamodule: CameraPretrainDataModuleConfig = field(default_factory=CameraPretrainDataModuleConfig)


@dataclass
class SamplingConfig:
    """How rollouts are drawn (paper D: at most 768 completion tokens)."""

    _target_: str = "reade.rl.rollout.base.SamplingSettings"
    max_new_tokens: int = 768
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0


@dataclass
class ConstantSchedulerConfig(SchedulerConfig):
    """Paper Table 10, stage 2: a constant learning rate after a linear warm-up."""

    _target_: str = "transformers.get_constant_schedule_with_warmup"
    num_warmup_steps: int = 50


@dataclass
class GRPOModuleConfig:
    _target_: str = "reade.lit.grpo.GRPOModule"
    rollout: Any = "${rollout}"
    sampling: Any = "${stage.sampling}"
    judge: Any = "${judge}"
    reward: Any = "${reward}"
    optimizer: Any = "${stage.optimizer}"
    scheduler: Any = "${stage.scheduler}"
    group_size: int = "${stage.group_size}"  # type: ignore[assignment]
    micro_batch_size: int = "${stage.micro_batch_size}"  # type: ignore[assignment]
    num_iterations: int = "${stage.num_iterations}"  # type: ignore[assignment]
    beta: float = "${stage.beta}"  # type: ignore[assignment]
    epsilon_low: float = "${stage.epsilon_low}"  # type: ignore[assignment]
    epsilon_high: float = "${stage.epsilon_high}"  # type: ignore[assignment]
    use_bias_correction_kl: bool = "${stage.use_bias_correction_kl}"  # type: ignore[assignment]
    loss_type: str = "${stage.loss_type}"
    scale_rewards: str = "${stage.scale_rewards}"
    mask_truncated_completions: bool = "${stage.mask_truncated_completions}"  # type: ignore[assignment]
    max_grad_norm: Optional[float] = "${stage.max_grad_norm}"  # type: ignore[assignment]
    instruction_dropout: float = "${stage.instruction_dropout}"  # type: ignore[assignment]
    max_prompt_length: int = "${stage.max_prompt_length}"  # type: ignore[assignment]
    share_prompts: bool = "${stage.share_prompts}"  # type: ignore[assignment]
    seed: int = "${seed}"  # type: ignore[assignment]
    eval_max_new_tokens: int = "${stage.eval.max_new_tokens}"  # type: ignore[assignment]
    log_completions_every: int = "${stage.log_completions_every}"  # type: ignore[assignment]
    max_nan_share: float = "${stage.max_nan_share}"  # type: ignore[assignment]
    max_nan_steps: int = "${stage.max_nan_steps}"  # type: ignore[assignment]
    samples_path: str = "${paths.output_dir}/eval_samples{tag}.jsonl"
    completions_path: str = "${paths.output_dir}/completions.jsonl"
    steps_path: str = "${paths.output_dir}/steps.jsonl"


@dataclass
class GRPODataModuleConfig:
    _target_: str = "reade.lit.grpo.GRPODataModule"
    train_file: str = "${data.train_file}"
    test_file: Optional[str] = "${data.test_file}"
    kinds: list[str] = "${condition.kinds}"  # type: ignore[assignment]
    synthesize: Any = "${data.synthesize}"
    on_error: str = "${data.on_error}"
    prompts_per_step: int = "${stage.prompts_per_step}"  # type: ignore[assignment]
    eval_batch_size: int = "${stage.eval.batch_size}"  # type: ignore[assignment]
    eval_limit: int = "${stage.eval.limit}"  # type: ignore[assignment]
    seed: int = "${seed}"  # type: ignore[assignment]
    num_workers: int = "${data.num_workers}"  # type: ignore[assignment]


@dataclass
class GRPOStageConfig:
    """Paper stage 2 (section 3.2.3, D; Table 10). One step = one generation batch of
    `prompts_per_step` prompts × `group_size` completions on each rank, then `num_iterations` (μ)
    optimizer steps over it, each accumulated over micro-batches of `micro_batch_size` completions.

    `upstream` names the stage whose finished run gives the starting weights (run first, or reused
    from the stage cache: reade.utils.chain); `init_checkpoint` is an explicit HF folder instead.
    Lightning neither accumulates nor clips (manual optimisation): `max_grad_norm` is the clipping.
    """

    name: str = "grpo"
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    optimized_metric: Optional[str] = None
    prompts_per_step: int = 1
    group_size: int = 8
    micro_batch_size: int = 2
    num_iterations: int = 1
    max_steps: int = 1000
    max_epochs: int = -1
    val_check_interval: Optional[float] = None
    accumulate_grad_batches: int = 1
    gradient_clip_val: Optional[float] = None
    log_every_n_steps: int = 1
    max_grad_norm: Optional[float] = 1.0
    beta: float = 0.001
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    # TRL 1.16's default (True) weighs the k3 term by the importance ratio; the paper's GRPO does not.
    use_bias_correction_kl: bool = False
    loss_type: str = "grpo"
    scale_rewards: str = "group"
    mask_truncated_completions: bool = False
    instruction_dropout: float = 0.4
    max_prompt_length: int = 1024
    # Each group's prompt computed once in the log-prob passes (reade.rl.shared_prompt); same log-probs.
    share_prompts: bool = True
    log_completions_every: int = 10
    # Stop when more than this share of a step's rewards are NaN (no verdict) for this many steps in
    # a row (reade.rl.nan_guard); max_nan_share: 1.0 never stops.
    max_nan_share: float = 0.5
    max_nan_steps: int = 5
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=2.5e-6))
    scheduler: ConstantSchedulerConfig = field(default_factory=ConstantSchedulerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    module: GRPOModuleConfig = field(default_factory=GRPOModuleConfig)
    datamodule: GRPODataModuleConfig = field(default_factory=GRPODataModuleConfig)


@dataclass
class RolloutConfig:
    """A partial: the GRPO module completes it with the stage's sampling settings."""

    _target_: str = MISSING
    _partial_: bool = True


@dataclass
class HFRolloutConfig(RolloutConfig):
    _target_: str = "reade.rl.rollout.hf.HFRollout"


@dataclass
class VLLMRolloutConfig(RolloutConfig):
    """An in-process vLLM engine beside the trainer, fed the policy's weights after every optimizer step."""

    _target_: str = "reade.rl.rollout.vllm.VLLMRollout"
    gpu_memory_utilization: float = 0.3
    max_model_len: int = 4096
    dtype: str = "auto"
    seed: int = "${seed}"  # type: ignore[assignment]
    enforce_eager: bool = False
    max_num_seqs: int = 256
    enable_prefix_caching: bool = True


@dataclass
class TrainerConfig:
    """Hardware only: the recipe (steps, batch, clipping) comes from the stage."""

    _target_: str = "lightning.Trainer"
    accelerator: str = "cpu"
    devices: Any = 1
    num_nodes: int = 1
    strategy: Any = "auto"
    precision: str = "32-true"
    max_steps: int = MISSING
    max_epochs: int = MISSING
    val_check_interval: Optional[float] = None
    accumulate_grad_batches: int = MISSING
    gradient_clip_val: Optional[float] = MISSING
    log_every_n_steps: int = MISSING
    num_sanity_val_steps: int = 0
    enable_progress_bar: bool = True
    deterministic: bool = False
    default_root_dir: Optional[str] = MISSING


@dataclass
class ModelCheckpointConfig:
    """Lightning checkpoints for resuming (`ckpt_path=last`); the HF export is separate."""

    _target_: str = "reade.utils.checkpoint.ResumableCheckpoint"
    dirpath: Optional[str] = MISSING
    filename: str = "step{step}"
    save_last: bool = True
    save_top_k: int = 0
    every_n_train_steps: int = 200


@dataclass
class LearningRateMonitorConfig:
    _target_: str = "lightning.pytorch.callbacks.LearningRateMonitor"
    logging_interval: str = "step"


@dataclass
class CallbacksConfig:
    model_checkpoint: ModelCheckpointConfig = field(default_factory=ModelCheckpointConfig)
    lr_monitor: LearningRateMonitorConfig = field(default_factory=LearningRateMonitorConfig)


@dataclass
class WandbLoggerConfig:
    _target_: str = "lightning.pytorch.loggers.WandbLogger"
    project: str = "reade"
    mode: str = "offline"
    save_dir: Optional[str] = MISSING
    entity: Optional[str] = None
    tags: list[str] = field(default_factory=list)
    log_model: bool = False


@dataclass
class CSVLoggerConfig:
    _target_: str = "lightning.pytorch.loggers.CSVLogger"
    save_dir: Optional[str] = MISSING
    name: str = "csv"


@dataclass
class RewardConfig:
    """Weights of eq. 4 (α ρ γ λ; `lam` is λ) and of the format reward in the GRPO sum."""

    _target_: str = "reade.rewards.content.RewardWeights"
    alpha: float = 1.0
    rho: float = 1.0
    gamma: float = 0.8
    lam: float = 0.7
    format: float = 1.0


@dataclass
class JudgeConfig:
    """What every judge takes: where verdicts are cached, and how many are committed at once."""

    _target_: str = MISSING
    cache_dir: Optional[str] = None
    commit_every: int = 64


@dataclass
class LexicalJudgeConfig(JudgeConfig):
    _target_: str = "reade.rewards.judges.lexical.LexicalJudge"


@dataclass
class EmbeddingJudgeConfig(JudgeConfig):
    _target_: str = "reade.rewards.judges.embedding.EmbeddingJudge"
    threshold: float = 0.5
    batch_size: int = 16
    device: str = "cpu"
    memory: int = 200_000
    commit_every: int = 256


@dataclass
class ChatJudgeConfig(JudgeConfig):
    """The LLM judges: the model and the sampling of its one-line answers (paper D.4: 50 tokens)."""

    model: str = MISSING
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 50
    garbage_retries: int = 2


@dataclass
class OpenAIJudgeConfig(ChatJudgeConfig):
    """Any OpenAI-compatible endpoint. The key is read from the variable `api_key_env` names, never stored."""

    _target_: str = "reade.rewards.judges.openai.OpenAIJudge"
    base_url: Optional[str] = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout_s: float = 60.0
    retries: int = 3
    backoff_s: float = 1.0


@dataclass
class HFJudgeConfig(ChatJudgeConfig):
    _target_: str = "reade.rewards.judges.hf.HFJudge"
    batch_size: int = 8
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0


@dataclass
class VLLMJudgeConfig(ChatJudgeConfig):
    _target_: str = "reade.rewards.judges.vllm.VLLMJudge"
    gpu_memory_utilization: float = 0.3
    max_model_len: int = 4096
    dtype: str = "auto"
    seed: int = 0
    enforce_eager: bool = False


def unknown_keys(node: Any, path: str = "") -> list[str]:
    """Every key under a schema-typed node that its dataclass does not declare, with a suggestion."""
    problems = []
    if not isinstance(node, DictConfig):
        return problems
    schema = OmegaConf.get_type(node)
    allowed = [f.name for f in fields(schema)] if is_dataclass(schema) else None
    for key in node.keys():
        if allowed is not None and key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {path}{close[0]}?)" if close else f" (known: {', '.join(allowed)})"
            problems.append(f"{path}{key} is not a field of {schema.__name__}{hint}")
        problems.extend(unknown_keys(node._get_node(key), f"{path}{key}."))
    return problems


def check_known_keys(cfg: DictConfig) -> None:
    problems = unknown_keys(cfg)
    if problems:
        raise ConfigError("unknown config keys:\n  " + "\n  ".join(problems))


def register() -> None:
    """Put every schema in the ConfigStore; idempotent, called on `import reade.config`."""
    store = ConfigStore.instance()
    for group, name, node in [
        ("paths", "base_paths", PathsConfig),
        ("backbone", "base_backbone", BackboneConfig),
        ("condition", "base_condition", ConditionConfig),
        ("data", "base_data", DataConfig),
        ("stage", "base_sft", SFTStageConfig),
        ("stage", "base_grpo", GRPOStageConfig),
        ("stage", "base_camera_pretrain", CameraPretrainStageConfig),
        ("rollout", "base_hf", HFRolloutConfig),
        ("rollout", "base_vllm", VLLMRolloutConfig),
        ("trainer", "base_trainer", TrainerConfig),
        ("callbacks", "base_callbacks", CallbacksConfig),
        ("logger", "base_wandb", WandbLoggerConfig),
        ("logger", "base_csv", CSVLoggerConfig),
        ("reward", "base_reward", RewardConfig),
        ("judge", "base_lexical", LexicalJudgeConfig),
        ("judge", "base_embedding", EmbeddingJudgeConfig),
        ("judge", "base_openai", OpenAIJudgeConfig),
        ("judge", "base_hf", HFJudgeConfig),
        ("judge", "base_vllm", VLLMJudgeConfig),
        ("generator", "base_generator", GeneratorWindow),
    ]:
        store.store(group=group, name=name, node=node)


register()
