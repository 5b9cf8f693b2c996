"""LoRA / DoRA adapters (through peft) on the language model of a LLaVA, saved with a card.

DoRA is a flag on LoRA (peft's ``use_dora``). Adapted layers are restricted to the language model by a
regular expression over module names (the CLIP vision tower has ``q_proj``/``k_proj``/``v_proj`` too,
and a bare name list would adapt it as well). Modules named in ``full_modules`` (the projector by default)
are trained in full next to the adapter (peft's ``modules_to_save``) and saved with it.

After saving, the adapter is loaded back next to the live one and the logits of both are compared on a
real batch, so a fine-tune is never silently lost (weights saved under names peft later does not find).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from adsgen.drivelm.vlm.depth import DEPTHS_WITHOUT_MODEL
from adsgen.drivelm.vlm.model import BaseInfo, require_peft, require_vlm
from adsgen.errors import ConfigError, InputError
from adsgen.provenance import utc_now, versions

CARD_FILE = "adapter_card.json"
AdapterMethod = Literal["lora", "dora"]  # DoRA: weight-decomposed LoRA (peft's use_dora)
ADAPTER_METHODS: tuple[AdapterMethod, ...] = get_args(AdapterMethod)
LANGUAGE_MODEL_SCOPE = "language_model"  # module-path component of the text model inside LLaVA
_CHECK_ADAPTER = "reload_check"


@dataclass(frozen=True)
class AdapterOptions:
    """How the language model is adapted."""

    method: AdapterMethod = "lora"
    """'lora' or 'dora' (DoRA: weight-decomposed LoRA, peft's use_dora)."""
    rank: int = 16
    """LoRA rank r."""
    alpha: int = 32
    """LoRA scaling alpha (the update is scaled by alpha / rank)."""
    dropout: float = 0.05
    """Dropout on the adapter's input during training."""
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                       "down_proj")
    """Linear layers of the language model to adapt (last component of the module name)."""
    full_modules: tuple[str, ...] = ("multi_modal_projector",)
    """Modules trained in full and saved with the adapter (e.g. the projector, 'vision_tower')."""
    def __post_init__(self) -> None:
        if self.method not in ADAPTER_METHODS:
            raise ConfigError(f"adapter method {self.method!r}: expected one of {ADAPTER_METHODS}")
        if self.rank < 1 or self.alpha < 1:
            raise ConfigError(f"adapter rank {self.rank} / alpha {self.alpha}: both must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"adapter dropout {self.dropout}: expected 0 <= dropout < 1")
        if not self.target_modules:
            raise ConfigError("adapter target_modules: give at least one module name")
        for name in self.target_modules:
            if not re.fullmatch(r"[A-Za-z0-9_]+", name):
                raise ConfigError(f"adapter target module {name!r}: expected a plain module name like q_proj")


@dataclass
class WrapReport:
    """What wrapping changed."""

    adapted: list[str]
    """Full names of the adapted (LoRA/DoRA) modules."""
    full_modules: list[str]
    """Modules trained in full."""
    trainable_params: int
    total_params: int

    def lines(self) -> list[str]:
        """Readable summary: the adapted modules (grouped) and the parameter counts."""
        kinds = sorted({name.rsplit(".", 1)[-1] for name in self.adapted})
        pct = 100.0 * self.trainable_params / max(self.total_params, 1)
        return [f"adapted {len(self.adapted)} language-model modules ({', '.join(kinds)}):",
                *[f"  {name}" for name in self.adapted],
                f"trained in full: {', '.join(self.full_modules) or 'nothing'}",
                f"trainable parameters: {self.trainable_params:,} of {self.total_params:,} ({pct:.2f}%)"]


def _target_regex(options: AdapterOptions) -> str:
    names = "|".join(re.escape(n) for n in options.target_modules)
    return rf".*\.{LANGUAGE_MODEL_SCOPE}\..*\.({names})"


def wrap(model: Any, options: AdapterOptions) -> tuple[Any, WrapReport]:
    """Wrap ``model`` with a fresh trainable LoRA/DoRA adapter on its language model."""
    peft = require_peft()
    config = peft.LoraConfig(
        r=options.rank, lora_alpha=options.alpha, lora_dropout=options.dropout,
        target_modules=_target_regex(options), use_dora=options.method == "dora",
        modules_to_save=list(options.full_modules) or None)
    try:
        with warnings.catch_warnings():  # peft calls a transformers property deprecated in v5
            warnings.simplefilter("ignore", FutureWarning)
            wrapped = peft.get_peft_model(model, config)
    except ValueError as exc:
        raise ConfigError(f"adapter target modules {list(options.target_modules)}: {exc}") from exc
    return wrapped, report_of(wrapped, options)


def report_of(wrapped: Any, options: AdapterOptions) -> WrapReport:
    """Count what a peft model adapts and trains; raise if anything outside the language model is adapted."""
    adapted = sorted(wrapped.base_model.targeted_module_names)
    outside = [n for n in adapted if f".{LANGUAGE_MODEL_SCOPE}." not in n]
    if outside:
        raise ConfigError(f"adapter would adapt modules outside the language model: {outside[:3]}")
    trainable = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    total = sum(p.numel() for p in wrapped.parameters())
    return WrapReport(adapted=adapted, full_modules=list(options.full_modules), trainable_params=trainable,
                      total_params=total)


@dataclass
class AdapterCard:
    """Provenance of a saved adapter (adapter_card.json)."""

    base_path: str
    base_family: str
    base_fingerprint: str
    options: dict[str, Any]
    data_fingerprint: str | None = None
    """Fingerprint of the training data (None for an untrained adapter)."""
    training: dict[str, Any] = field(default_factory=dict)
    """Training options and figures (epochs, lr, steps, final loss, held-out accuracy)."""
    versions: dict[str, Any] = field(default_factory=versions)
    created: str = field(default_factory=utc_now)

    def adapter_options(self) -> AdapterOptions:
        opts = dict(self.options)
        opts["target_modules"] = tuple(opts["target_modules"])
        opts["full_modules"] = tuple(opts["full_modules"])
        return AdapterOptions(**opts)




def stored_path(path: str | Path, folder: str | Path) -> str:
    """How a card stores a path: relative to the card's folder when inside it (the tiny base copied to
    OUT/base), else absolute (never relative to wherever training ran)."""
    target, root = Path(path).expanduser().resolve(), Path(folder).expanduser().resolve()
    return str(target.relative_to(root)) if target.is_relative_to(root) else str(target)


def card_path(value: str, folder: str | Path) -> str:
    """A path read from a card: a relative one is relative to the card's folder."""
    return value if Path(value).is_absolute() else str((Path(folder) / value).resolve())


def make_card(info: BaseInfo, options: AdapterOptions, data_fingerprint: str | None = None,
              training: dict[str, Any] | None = None, folder: str | Path | None = None) -> AdapterCard:
    """A card for an adapter saved in ``folder`` (paths stored per :func:`stored_path`)."""
    training = dict(training or {})
    base_path = info.path
    if folder is not None:
        base_path = stored_path(info.path, folder)
        if training.get("depth") not in (None, *DEPTHS_WITHOUT_MODEL):
            training["depth"] = stored_path(training["depth"], folder)
    return AdapterCard(base_path=base_path, base_family=info.family, base_fingerprint=info.fingerprint,
                       options=asdict(options), data_fingerprint=data_fingerprint, training=training)


def read_card(folder: str | Path) -> AdapterCard:
    """Read an adapter folder's card (relative base and depth paths resolved against the folder); InputError
    when it is not an adsgen adapter folder."""
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise InputError(f"adapter {folder}: no {CARD_FILE} (not an adapter saved by adsgen drivelm train)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise TypeError("expected a JSON object")
        for name, kinds in _CARD_TYPES.items():
            if name in raw and not isinstance(raw[name], kinds):
                raise TypeError(f"field {name!r} is {type(raw[name]).__name__}, expected "
                                f"{' or '.join(k.__name__ for k in kinds)}")
        card = AdapterCard(**raw)
        card.adapter_options()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, TypeError, KeyError, ValueError) as exc:
        raise InputError(f"adapter card {path}: not a valid card ({str(exc)[:200]})") from None
    card.base_path = card_path(card.base_path, folder)
    if card.training.get("depth") not in (None, *DEPTHS_WITHOUT_MODEL):
        card.training["depth"] = card_path(card.training["depth"], folder)
    return card


_CARD_TYPES: dict[str, tuple[type, ...]] = {
    "base_path": (str,), "base_family": (str,), "base_fingerprint": (str,), "options": (dict,),
    "data_fingerprint": (str, type(None)), "training": (dict,), "versions": (dict,), "created": (str,)}
"""The JSON type of each AdapterCard field (a card with another type is refused when read)."""


def check_card_matches(card: AdapterCard, info: BaseInfo, folder: str | Path) -> None:
    """InputError when the adapter was trained on a different base model."""
    if card.base_fingerprint != info.fingerprint:
        raise InputError(
            f"adapter {folder} was trained on base {card.base_path} ({card.base_family}, "
            f"{card.base_fingerprint[:19]}...), not on {info.path} ({info.fingerprint[:19]}...); "
            "give the base it was trained on")


def _logits(model: Any, batch: dict[str, Any]) -> Any:
    torch, _ = require_vlm()
    with torch.no_grad():
        return model(**batch).logits.float()


def save_adapter(wrapped: Any, folder: str | Path, card: AdapterCard, check_batch: dict[str, Any]) -> None:
    """Save adapter weights (safetensors) and card; reload them and check the logits match.

    Raises RuntimeError when the reloaded adapter gives different logits (the fine-tune would be lost).
    """
    torch, _ = require_vlm()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(folder), safe_serialization=True)
    (folder / CARD_FILE).write_text(json.dumps(asdict(card), indent=2))
    was_training = wrapped.training
    wrapped.eval()
    try:
        live = _logits(wrapped, check_batch)
        try:
            wrapped.load_adapter(str(folder), adapter_name=_CHECK_ADAPTER)
        except (KeyError, ValueError, RuntimeError, OSError) as exc:
            raise RuntimeError(f"adapter saved to {folder} cannot be loaded back ({exc!r})") from exc
        wrapped.set_adapter(_CHECK_ADAPTER)
        reloaded = _logits(wrapped, check_batch)
    finally:
        if _CHECK_ADAPTER in wrapped.peft_config:
            wrapped.set_adapter("default")
            wrapped.delete_adapter(_CHECK_ADAPTER)
        wrapped.train(was_training)
    tolerance = 1e-4 if live.dtype == torch.float32 and check_batch["input_ids"].device.type == "cpu" else 2e-2
    diff = (live - reloaded).abs().max().item()
    scale = max(live.abs().max().item(), 1.0)
    if diff > tolerance * scale:
        raise RuntimeError(f"adapter saved to {folder} does not reproduce the trained model: max logit "
                           f"difference {diff:.3g} after reloading (tolerance {tolerance * scale:.3g})")


def load_adapter(model: Any, folder: str | Path, info: BaseInfo) -> Any:
    """Wrap a loaded base ``model`` with the adapter in ``folder`` (checked against the base first)."""
    card = read_card(folder)
    check_card_matches(card, info, folder)
    check_adapter_files(folder)
    peft = require_peft()
    return peft.PeftModel.from_pretrained(model, str(folder), is_trainable=False, local_files_only=True)


ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
"""What an adapter folder must hold (weights only as safetensors: a pickled .bin could run code)."""


def check_adapter_files(folder: str | Path) -> None:
    """InputError naming the first missing file, so that nothing is looked up on the Hub or unpickled."""
    folder = Path(folder)
    for name in ADAPTER_FILES:
        if not (folder / name).is_file():
            extra = (" (adapter_model.bin is not loaded: pickled weights can run code; re-save with "
                     "safe_serialization=True)" if name.endswith(".safetensors") and
                     (folder / "adapter_model.bin").exists() else "")
            raise InputError(f"adapter {folder}: no {name}{extra}")
