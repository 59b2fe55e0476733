"""The one params schema: frozen dataclasses that mirror params.yaml, and the loader that validates it.

No other module reads raw YAML. Every error is a `ParamsError` whose message starts with the dotted
key (`models.gru.hidden_size: must be > 0, got -3`), so a stage can print it as one line and exit 1.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Union

import yaml

from charlm.errors import CharlmError


class ParamsError(CharlmError, ValueError):
    """A params.yaml problem, message already prefixed with the dotted key."""


def _check(ok: bool, key: str, message: str) -> None:
    # Raised with the field name only; `_parse` prepends the path of the enclosing sections.
    if not ok:
        raise ParamsError(f"{key}: {message}")


# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Book:
    id: int
    title: str
    author: str

    def __post_init__(self):
        # The id becomes a file name (data/raw/<id>.txt): a positive int can never escape the folder.
        _check(self.id > 0, "id", f"must be a positive integer, got {self.id}")


@dataclass(frozen=True)
class DataParams:
    source: str          # URL template with {id}, a folder, or a path template with {id}
    allow_http: bool     # plain http:// only on explicit opt-in (the tests' loopback server)
    max_bytes: int       # cap per downloaded book
    timeout_s: float
    retries: int
    books: tuple[Book, ...]

    def __post_init__(self):
        _check(len(self.books) > 0, "books", "must list at least one book")
        ids = [b.id for b in self.books]
        _check(len(set(ids)) == len(ids), "books", f"duplicate ids in {ids}")
        _check(self.source.strip() != "", "source", "must not be empty")
        _check(self.max_bytes > 0, "max_bytes", f"must be > 0, got {self.max_bytes}")
        _check(self.timeout_s > 0, "timeout_s", f"must be > 0, got {self.timeout_s}")
        _check(self.retries >= 0, "retries", f"must be >= 0, got {self.retries}")


# ----------------------------------------------------------------------------------- preprocess
@dataclass(frozen=True)
class PreprocessParams:
    alphabet: str        # characters kept after cleaning; everything else becomes a space
    lowercase: bool
    fold_accents: bool   # é -> e before the alphabet filter
    val_fraction: float
    test_fraction: float

    def __post_init__(self):
        _check(len(self.alphabet) > 0, "alphabet", "must not be empty")
        _check(" " not in self.alphabet, "alphabet", "must not contain a space (space is the separator)")
        _check(len(set(self.alphabet)) == len(self.alphabet), "alphabet", "has repeated characters")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            _check(0 < value < 1, name, f"must be in (0, 1), got {value}")
        total = self.val_fraction + self.test_fraction
        _check(total < 1, "val_fraction", f"val_fraction + test_fraction must be < 1, got {total}")


# ---------------------------------------------------------------------------------------- vocab
@dataclass(frozen=True)
class VocabParams:
    token: Literal["char", "word"]
    min_freq: int
    reserved: tuple[str, ...]

    def __post_init__(self):
        _check(self.min_freq >= 0, "min_freq", f"must be >= 0, got {self.min_freq}")
        _check("<unk>" not in self.reserved, "reserved", "<unk> is always index 0; do not list it")
        _check(len(set(self.reserved)) == len(self.reserved), "reserved", "has repeated tokens")


# ---------------------------------------------------------------------------------------- train
Schedule = Literal["constant", "cosine", "plateau"]


@dataclass(frozen=True)
class TrainParams:
    launcher: str                 # the train stage's command prefix: "python", or "torchrun ... " for DDP
    device: Literal["auto", "cpu", "cuda"]
    seed: int
    threads: int                  # torch intra-op threads; 0 = torch's default
    optimizer: Literal["sgd", "adam", "adamw"]
    lr: float
    weight_decay: float
    betas: tuple[float, float]    # adam/adamw only
    clip_norm: float              # global-norm gradient clipping; 0 = off
    batch_size: int
    num_steps: int                # truncated-BPTT length (tokens per row per batch)
    iterator: Literal["sequential", "random"]
    max_tokens: int               # training budget in tokens (batch_size * num_steps per step)
    max_epochs: int
    schedule: Schedule
    warmup_tokens: int
    min_lr_ratio: float           # cosine ends at lr * min_lr_ratio
    plateau_factor: float         # plateau: lr *= factor when val bpc did not improve
    eval_every_tokens: int        # validate every N training tokens (and at each epoch end)
    patience: int                 # early stopping after N evaluations without improvement; 0 = off

    def __post_init__(self):
        _check(self.launcher.strip() != "", "launcher", 'must not be empty (use "python")')
        _check(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        _check(self.weight_decay >= 0, "weight_decay", f"must be >= 0, got {self.weight_decay}")
        _check(all(0 <= b < 1 for b in self.betas), "betas", f"must be in [0, 1), got {list(self.betas)}")
        _check(self.clip_norm >= 0, "clip_norm", f"must be >= 0, got {self.clip_norm}")
        _check(self.threads >= 0, "threads", f"must be >= 0, got {self.threads}")
        for name in ("batch_size", "num_steps", "max_tokens", "max_epochs", "eval_every_tokens"):
            _check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        _check(self.warmup_tokens >= 0, "warmup_tokens", f"must be >= 0, got {self.warmup_tokens}")
        _check(0 <= self.min_lr_ratio <= 1, "min_lr_ratio", f"must be in [0, 1], got {self.min_lr_ratio}")
        _check(0 < self.plateau_factor < 1, "plateau_factor", f"must be in (0, 1), got {self.plateau_factor}")
        _check(self.patience >= 0, "patience", f"must be >= 0, got {self.patience}")


# --------------------------------------------------------------------------------------- models
class ModelParams:
    """Base of every `models.<name>` entry; its `arch` picks the subclass (ARCH_PARAMS)."""
    arch: str
    train: dict                   # overrides merged over the shared `train` section

    def check_train(self, train: TrainParams) -> None:
        """Cross-checks between the model and its merged train params (ParamsError keyed under `train`)."""

    def label(self) -> str:
        """A short size description for tables, e.g. `lstm 1×256`."""
        raise NotImplementedError


@dataclass(frozen=True)
class RecurrentParams(ModelParams):
    """rnn / gru / lstm: one causal LM. bilstm: a forward and a backward LSTM LM (ELMo-style)."""
    arch: str
    num_layers: int
    hidden_size: int
    embedding_size: int           # ignored (must equal vocab size) when input is one_hot
    input: Literal["embedding", "one_hot"]
    dropout: float
    tie_weights: bool             # share input embedding and softmax (needs embedding_size == hidden_size)
    train: dict

    def __post_init__(self):
        _check(self.num_layers > 0, "num_layers", f"must be > 0, got {self.num_layers}")
        _check(self.hidden_size > 0, "hidden_size", f"must be > 0, got {self.hidden_size}")
        _check(self.embedding_size > 0, "embedding_size", f"must be > 0, got {self.embedding_size}")
        _check(0 <= self.dropout < 1, "dropout", f"must be in [0, 1), got {self.dropout}")
        if self.tie_weights:
            _check(self.input == "embedding", "tie_weights", "needs input: embedding")
            _check(self.embedding_size == self.hidden_size, "tie_weights",
                   f"needs embedding_size == hidden_size, got {self.embedding_size} and {self.hidden_size}")

    def label(self) -> str:
        return f"{self.arch} {self.num_layers}×{self.hidden_size}"


@dataclass(frozen=True)
class TransformerParams(ModelParams):
    """transformer: a causal pre-LN Transformer LM (src/charlm/models/transformer.py)."""
    arch: str
    d_model: int
    n_layers: int
    n_heads: int
    context: int                  # tokens per attention window (learned positions 0 .. context-1)
    stride: int                   # scoring: new tokens per window, so each sees >= context - stride before it
    dropout: float
    train: dict

    def __post_init__(self):
        for name in ("d_model", "n_layers", "n_heads"):
            _check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        _check(self.d_model % self.n_heads == 0, "n_heads",
               f"must divide d_model ({self.d_model}), got {self.n_heads}")
        _check(self.context >= 2, "context", f"must be >= 2, got {self.context}")
        _check(1 <= self.stride < self.context, "stride", f"must be in 1..context-1 ({self.context - 1}), "
                                                           f"got {self.stride}")
        _check(0 <= self.dropout < 1, "dropout", f"must be in [0, 1), got {self.dropout}")

    def check_train(self, train: TrainParams) -> None:
        # A longer training row would need windows the model never reads as a whole; say so up front.
        _check(train.num_steps <= self.context, "train.num_steps",
               f"must be <= context ({self.context}) for a transformer, got {train.num_steps}")

    def label(self) -> str:
        return f"{self.arch} {self.n_layers}×{self.d_model}"


# The model registry's parameter side: arch name -> params class. `charlm.models.build_model`
# holds the builders for the same names (a test checks the two agree).
ARCH_PARAMS: dict[str, type[ModelParams]] = {
    "rnn": RecurrentParams,
    "gru": RecurrentParams,
    "lstm": RecurrentParams,
    "bilstm": RecurrentParams,
    "transformer": TransformerParams,
}


# ---------------------------------------------------------------------------------------- ngram
@dataclass(frozen=True)
class NgramParams:
    smoothing: Literal["additive", "laplace", "kneser_ney"]   # laplace = add-one (nltk.lm.Laplace)
    order: int
    epsilon: Optional[tuple[float, ...]]   # additive: one ε per order (ε1 for unigrams first)
    discount: Optional[float]              # kneser_ney: one hand-set discount, or null = modified KN

    MAX_ORDER: typing.ClassVar[int] = 8

    def __post_init__(self):
        _check(1 <= self.order <= self.MAX_ORDER, "order",
               f"must be in 1..{self.MAX_ORDER}, got {self.order}")
        if self.smoothing == "additive":
            _check(self.epsilon is not None, "epsilon", "is required for additive smoothing")
            _check(len(self.epsilon) == self.order, "epsilon",
                   f"needs one value per order ({self.order}), got {len(self.epsilon)}")
            _check(all(e > 0 for e in self.epsilon), "epsilon", f"every ε must be > 0, got {list(self.epsilon)}")
            _check(self.discount is None, "discount", "only applies to kneser_ney")
        else:
            _check(self.epsilon is None, "epsilon", "only applies to additive smoothing")
            _check(self.smoothing == "kneser_ney" or self.discount is None, "discount",
                   "only applies to kneser_ney")
            if self.discount is not None:
                _check(0 < self.discount < 1, "discount", f"must be in (0, 1), got {self.discount}")


# ------------------------------------------------------------------------------------- evaluate
@dataclass(frozen=True)
class EvaluateParams:
    prefixes: tuple[str, ...]
    length: int                   # characters (tokens) generated per sample
    temperature: float
    top_k: int                    # 0 = no top-k filter
    seed: int
    bootstrap_block: int          # characters per resampled block
    bootstrap_samples: int
    batch_size: int               # parallel streams when scoring a split

    def __post_init__(self):
        _check(self.length > 0, "length", f"must be > 0, got {self.length}")
        _check(self.temperature > 0, "temperature", f"must be > 0, got {self.temperature}")
        _check(self.top_k >= 0, "top_k", f"must be >= 0, got {self.top_k}")
        _check(self.bootstrap_block > 0, "bootstrap_block", f"must be > 0, got {self.bootstrap_block}")
        _check(self.bootstrap_samples > 0, "bootstrap_samples", f"must be > 0, got {self.bootstrap_samples}")
        _check(self.batch_size > 0, "batch_size", f"must be > 0, got {self.batch_size}")


# ----------------------------------------------------------------------------------------- root
@dataclass(frozen=True)
class Params:
    data: DataParams
    preprocess: PreprocessParams
    vocab: VocabParams
    train: TrainParams
    models: dict[str, ModelParams]       # parsed per entry through ARCH_PARAMS[arch]
    ngram: dict[str, NgramParams]
    evaluate: EvaluateParams

    def __post_init__(self):
        _check(len(self.models) > 0, "models", "must define at least one model")
        for section, names in (("models", self.models), ("ngram", self.ngram)):
            for name in names:
                # Model names become file names (models/<name>.pt) and DVC stage keys.
                _check(name.replace("_", "").isalnum() and name.isascii(), f"{section}.{name}",
                       "model names may use only ASCII letters, digits and _")
        clash = set(self.models) & set(self.ngram)
        _check(not clash, "ngram", f"names also used under models: {sorted(clash)}")
        for name in self.models:
            self.model_train(name)  # validates each model's overrides before any stage starts

    def model_train(self, name: str) -> TrainParams:
        """The shared `train` section with `models.<name>.train` merged over it, validated."""
        merged = _merge_train(self.train, self.models[name].train, f"models.{name}.train")
        try:
            self.models[name].check_train(merged)
        except ParamsError as e:
            raise ParamsError(f"models.{name}.{e}") from None
        return merged


# ----------------------------------------------------------------------------------- the loader
def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; raise ParamsError naming the file and dotted key on any problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        return parse_params(raw)
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None


def parse_params(raw: object) -> Params:
    """Validate an already-loaded mapping (tests use this directly)."""
    return _parse(raw, Params, "")


# train keys that dvc.yaml itself reads, so one value must hold for every model.
SHARED_ONLY = {"launcher": "dvc.yaml builds every train@ command from train.launcher"}


def _merge_train(base: TrainParams, overrides: dict, key: str) -> TrainParams:
    merged = dataclasses.asdict(base)
    for name in overrides:
        if name not in merged:
            raise ParamsError(f"{key}.{name}: unknown key (valid: {', '.join(sorted(merged))})")
        if name in SHARED_ONLY:
            raise ParamsError(f"{key}.{name}: can only be set in the shared train section ({SHARED_ONLY[name]})")
    merged.update(overrides)
    return _parse(merged, TrainParams, key)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _parse(value: object, tp: object, key: str):
    """Check `value` against the type `tp`, recursively; `key` is the dotted path for errors."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    where = key or "params"

    if tp is ModelParams:
        # `models.<name>` entries: the arch picks the params class (transformers have other fields).
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: must be a mapping, got {type(value).__name__}")
        return _parse_dataclass(value, _arch_class(value, key), key)
    if dataclasses.is_dataclass(tp):
        return _parse_dataclass(value, tp, key)
    if origin is Literal:
        if value not in args:
            raise ParamsError(f"{where}: must be one of {', '.join(map(str, args))}; got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _parse(value, inner, key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{where}: must be a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_parse(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ParamsError(f"{where}: must be a list of {len(args)} values, got {len(value)}")
        return tuple(_parse(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: must be a mapping, got {type(value).__name__}")
        return {str(k): _parse(v, args[1], _join(key, str(k))) for k, v in value.items()}
    if tp is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: must be a mapping, got {type(value).__name__}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where}: must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where}: must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{where}: must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where}: must be a string, got {value!r}")
        return value
    raise TypeError(f"params schema: unsupported type {tp!r} at {where}")


def _parse_dataclass(value: object, cls: type, key: str):
    where = key or "params"
    if not isinstance(value, dict):
        raise ParamsError(f"{where}: must be a mapping, got {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = {f.name for f in fields}
    for k in value:
        if k not in names:
            raise ParamsError(f"{_join(key, str(k))}: unknown key (valid: {', '.join(sorted(names))})")
    kwargs = {}
    for f in fields:
        if f.name not in value:
            raise ParamsError(f"{_join(key, f.name)}: missing key")
        kwargs[f.name] = _parse(value[f.name], hints[f.name], _join(key, f.name))
    try:
        obj = cls(**kwargs)
    except ParamsError as e:
        raise ParamsError(_join(key, str(e))) from None
    return obj


def _arch_class(value: dict, key: str) -> type:
    arch = value.get("arch")
    if arch not in ARCH_PARAMS:
        raise ParamsError(f"{_join(key, 'arch')}: unknown arch {arch!r} (valid: {', '.join(sorted(ARCH_PARAMS))})")
    return ARCH_PARAMS[arch]
