"""The one params schema: frozen pydantic models that mirror params.yaml, and the loader that validates it.

No other module reads raw YAML. Every error is a `ParamsError` whose message starts with the dotted
key (`models.gru.hidden_size: must be > 0, got -3`), so a stage can print it as one line and exit 1.
"""
from __future__ import annotations

import copy
import re
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping, Union

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, NonNegativeFloat, NonNegativeInt,
                      PlainValidator, PositiveFloat, PositiveInt, ValidationError, WrapValidator, model_validator)

from charlm.errors import CharlmError


class ParamsError(CharlmError, ValueError):
    """A params.yaml problem, message already prefixed with the dotted key."""


class _Invalid(ParamsError):
    """A problem at `key`, relative to the model that found it; each enclosing model prepends its field."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key, self.problem = key, problem


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise _Invalid(key, problem)


class _Schema(BaseModel):
    """Frozen; no unknown keys; no coercion ("3" is not 3, true is not 1). Tuple fields say strict=False:
    YAML has lists, not tuples (their items stay strict)."""
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, **fields: Any):
        # Built in code (tests, benchmarks): the same one-line ParamsError as from params.yaml.
        try:
            super().__init__(**fields)
        except ValidationError as e:
            raise _unwrap(e) from None

    @model_validator(mode="wrap")
    @classmethod
    def _validated(cls, data: Any, handler):
        # Each model words its own first error, since only it knows its keys and bounds; pydantic hands
        # that _Invalid to the enclosing model, which prepends the field it came from.
        try:
            model = handler(data)
        except ValidationError as e:
            raise _describe(_first(e), cls.model_fields) from None
        model._rules()
        return model

    def _rules(self) -> None:
        """Rules between fields, once each field is valid on its own: `_check(ok, key, problem)`."""


# --------------------------------------------------------------------------------------------- data
BOOK_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"   # a book id that is not a number: my_letters
BookId = Union[int, str]


def is_book_id(value: object) -> bool:
    """Whether `value` may be a book id, and so a file name (<id>.txt): a positive int, or a str matching BOOK_NAME."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return False
    # fullmatch, since `$` alone also matches before a trailing newline
    return value > 0 if isinstance(value, int) else re.fullmatch(BOOK_NAME, value) is not None


def _book_id(value: Any) -> BookId:
    # Neither form can hold a `/`, a `.` or a leading `-`, so the file <id>.txt never leaves its folder.
    _check(is_book_id(value), "", f"must be a positive integer or a name matching {BOOK_NAME}, got {value!r}")
    return value


class Book(_Schema):
    id: Annotated[BookId, PlainValidator(_book_id)]   # becomes a file name: data/raw/<id>.txt
    title: str                    # missing: the id, as text
    author: str = ""
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")   # of the cleaned text (data/pin.py)

    @model_validator(mode="before")
    @classmethod
    def _title_defaults_to_id(cls, data: Any) -> Any:
        # A folder of my_letters.txt files needs no titles written out by hand.
        if isinstance(data, dict) and "title" not in data and "id" in data:
            return {**data, "title": str(data["id"])}
        return data


class DataParams(_Schema):
    source: str                   # URL template with {id}, a folder, or a path template with {id}
    allow_http: bool              # plain http:// only on explicit opt-in (the tests' loopback server)
    max_bytes: PositiveInt        # cap per downloaded book
    timeout_s: PositiveFloat
    retries: NonNegativeInt
    verify: Literal["warn", "strict"]   # what a book whose sha256 does not match is: a warning or an error
    books: tuple[Book, ...] = Field(strict=False)

    def _rules(self) -> None:
        _check(len(self.books) > 0, "books", "must list at least one book")
        first = {}
        for i, book in enumerate(self.books):
            # As text, as the file names compare: 11 and "11" are both data/raw/11.txt.
            j = first.setdefault(str(book.id), i)
            _check(j == i, f"books[{i}].id", f"{book.id!r} is already the id of books[{j}] (ids compare as text)")
        _check(self.source.strip() != "", "source", "must not be empty")


# ----------------------------------------------------------------------------------- preprocess
class PreprocessParams(_Schema):
    alphabet: str                 # characters kept after cleaning; everything else becomes a space
    lowercase: bool
    fold_accents: bool            # é -> e before the alphabet filter
    val_fraction: float = Field(gt=0, lt=1)
    test_fraction: float = Field(gt=0, lt=1)

    def _rules(self) -> None:
        _check(len(self.alphabet) > 0, "alphabet", "must not be empty")
        _check(" " not in self.alphabet, "alphabet", "must not contain a space (space is the separator)")
        _check(len(set(self.alphabet)) == len(self.alphabet), "alphabet", "has repeated characters")
        total = self.val_fraction + self.test_fraction
        _check(total < 1, "val_fraction", f"val_fraction + test_fraction must be < 1, got {total}")


# ---------------------------------------------------------------------------------------- vocab
class VocabParams(_Schema):
    token: Literal["char", "word"]
    min_freq: NonNegativeInt
    reserved: tuple[str, ...] = Field(strict=False)

    def _rules(self) -> None:
        _check("<unk>" not in self.reserved, "reserved", "<unk> is always index 0; do not list it")
        _check(len(set(self.reserved)) == len(self.reserved), "reserved", "has repeated tokens")


# ---------------------------------------------------------------------------------------- train
class TrainParams(_Schema):
    launcher: str                 # the train stage's command prefix: "python", or "torchrun ... " for DDP
    device: Literal["auto", "cpu", "cuda"]
    seed: int
    threads: NonNegativeInt       # torch intra-op threads; 0 = torch's default
    precision: Literal["auto", "fp32", "bf16"]   # auto = bf16 autocast on CUDA, fp32 on the CPU (docs/models.md)
    budget_scale: PositiveFloat   # multiplies every token budget: 0.5 on a machine half as fast (docs/recipe.md)
    optimizer: Literal["sgd", "adam", "adamw"]
    lr: PositiveFloat
    weight_decay: NonNegativeFloat
    betas: tuple[float, float] = Field(strict=False)   # adam/adamw only
    clip_norm: NonNegativeFloat   # global-norm gradient clipping; 0 = off
    batch_size: PositiveInt
    num_steps: PositiveInt        # truncated-BPTT length (tokens per row per batch)
    iterator: Literal["sequential", "random"]
    max_tokens: PositiveInt       # training budget in tokens (batch_size * num_steps per step)
    max_epochs: PositiveInt
    schedule: Literal["constant", "cosine", "plateau"]
    warmup_tokens: NonNegativeInt
    min_lr_ratio: float = Field(ge=0, le=1)     # cosine ends at lr * min_lr_ratio
    plateau_factor: float = Field(gt=0, lt=1)   # plateau: lr *= factor when val bpc did not improve
    eval_every_tokens: PositiveInt   # validate every N training tokens (and at each epoch end)
    patience: NonNegativeInt      # early stopping after N evaluations without improvement; 0 = off

    def _rules(self) -> None:
        _check(self.launcher.strip() != "", "launcher", 'must not be empty (use "python")')
        _check(all(0 <= b < 1 for b in self.betas), "betas", f"must be in [0, 1), got {list(self.betas)}")


# train keys that dvc.yaml itself reads, so one value must hold for every model.
SHARED_ONLY = {"launcher": "dvc.yaml builds every train@ command from train.launcher",
               "budget_scale": "one key scales every budget for a slower or faster machine"}

# `train:` under a model, left empty in YAML, means no overrides.
TrainOverrides = Annotated[dict[str, Any], BeforeValidator(lambda value: {} if value is None else value)]


# --------------------------------------------------------------------------------------- models
class ModelParams(_Schema):
    """A `models.<name>` entry. Subclasses declare `arch` (a Literal of the names they take), their sizes
    (`num_layers` and `hidden_size` in every one) and last `train`, the overrides of the shared section."""

    def check_train(self, train: TrainParams) -> None:
        """Cross-checks between the model and its merged train params (ParamsError keyed under `train`)."""

    def label(self) -> str:
        """A short size description for tables, e.g. `lstm 1×256`."""
        return f"{self.arch} {self.num_layers}×{self.hidden_size}"


# What a model is in the report: one of the equal-budget architecture comparison, or the champion the
# recipe pours its remaining minutes into (at most one), ranked as a separate entry.
Role = Literal["compare", "champion"]


class RecurrentParams(ModelParams):
    """rnn / gru / lstm: one causal LM."""
    arch: Literal["rnn", "gru", "lstm"]
    role: Role
    num_layers: PositiveInt
    hidden_size: PositiveInt
    embedding_size: PositiveInt   # ignored (must equal vocab size) when input is one_hot
    input: Literal["embedding", "one_hot"]
    dropout: float = Field(ge=0, lt=1)
    tie_weights: bool             # share input embedding and softmax (needs embedding_size == hidden_size)
    train: TrainOverrides

    def _rules(self) -> None:
        if self.tie_weights:
            _check(self.input == "embedding", "tie_weights", "needs input: embedding")
            _check(self.embedding_size == self.hidden_size, "tie_weights",
                   f"needs embedding_size == hidden_size, got {self.embedding_size} and {self.hidden_size}")


class BiLMParams(RecurrentParams):
    """bilstm: a forward and a backward LSTM LM (ELMo-style), each with the recurrent sizes."""
    arch: Literal["bilstm"]


class TransformerParams(ModelParams):
    """transformer: a causal pre-LN Transformer LM (src/charlm/models/transformer.py)."""
    arch: Literal["transformer"]
    role: Role
    num_layers: PositiveInt
    hidden_size: PositiveInt
    num_heads: PositiveInt
    context: int = Field(ge=2)    # tokens per attention window (learned positions 0 .. context-1)
    stride: int                   # scoring: new tokens per window, so each sees >= context - stride before it
    dropout: float = Field(ge=0, lt=1)
    train: TrainOverrides

    def _rules(self) -> None:
        _check(self.hidden_size % self.num_heads == 0, "num_heads",
               f"must divide hidden_size ({self.hidden_size}), got {self.num_heads}")
        _check(1 <= self.stride < self.context, "stride",
               f"must be in 1..context-1 ({self.context - 1}), got {self.stride}")

    def check_train(self, train: TrainParams) -> None:
        # A longer training row would need windows the model never reads as a whole; say so up front.
        _check(train.num_steps <= self.context, "train.num_steps",
               f"must be <= context ({self.context}) for a transformer, got {train.num_steps}")


def _by_arch(value: Any, handler):
    # The arch picks the class. pydantic adds the arch to the error path (models.gru.gru.x), a level
    # that params.yaml does not have, and words an unknown arch without the sorted choices.
    try:
        return handler(value)
    except ValidationError as e:
        error = _first(e)
        if error["type"] == "union_tag_invalid":
            valid = ", ".join(sorted(ARCH_PARAMS))
            raise _Invalid("arch", f"unknown arch {value['arch']!r} (valid: {valid})") from None
        if error["type"] == "union_tag_not_found":
            raise _Invalid("arch", "missing key") from None
        raise _describe({**error, "loc": error["loc"][1:]}, {}) from None


# The model registry's parameter side, the one place arch names are written: each class's `arch`
# Literal. charlm.models maps each class to the model it builds.
_ARCH_CLASSES = (RecurrentParams, BiLMParams, TransformerParams)
ARCH_PARAMS: dict[str, type[ModelParams]] = {
    arch: cls for cls in _ARCH_CLASSES for arch in typing.get_args(cls.model_fields["arch"].annotation)}
AnyModelParams = Annotated[Union[_ARCH_CLASSES], Field(discriminator="arch"), WrapValidator(_by_arch)]


# ---------------------------------------------------------------------------------------- ngram
class NgramParams(_Schema):
    MAX_ORDER: ClassVar[int] = 8

    smoothing: Literal["additive", "laplace", "kneser_ney"]   # laplace = add-one (nltk.lm.Laplace)
    order: int = Field(ge=1, le=MAX_ORDER)
    epsilon: tuple[float, ...] | None = Field(strict=False)   # additive: one ε per order (ε1 for unigrams first)
    discount: float | None = Field(gt=0, lt=1)   # kneser_ney: one hand-set discount, or null = modified KN

    def _rules(self) -> None:
        if self.smoothing == "additive":
            _check(self.epsilon is not None, "epsilon", "is required for additive smoothing")
            _check(len(self.epsilon) == self.order, "epsilon",
                   f"needs one value per order ({self.order}), got {len(self.epsilon)}")
            _check(all(e > 0 for e in self.epsilon), "epsilon", f"every ε must be > 0, got {list(self.epsilon)}")
        else:
            _check(self.epsilon is None, "epsilon", "only applies to additive smoothing")
        _check(self.smoothing == "kneser_ney" or self.discount is None, "discount", "only applies to kneser_ney")


# ------------------------------------------------------------------------------------- evaluate
class DynamicEvalParams(_Schema):
    """Dynamic evaluation (Krause et al. 2018): one stream over the split, each segment scored first and
    then learned from, so the model adapts to the text it has already been scored on."""
    models: tuple[str, ...] = Field(strict=False)   # neural models also scored this way (dynamic.* metrics)
    segment: PositiveInt          # tokens scored between two updates
    optimizer: Literal["sgd", "rms"]   # rms: each gradient divided by its running RMS, as in Krause et al.
    lr: PositiveFloat
    decay: float = Field(ge=0, lt=1)   # per update, this fraction of (trained - current) weights is added back


class EvaluateParams(_Schema):
    prefixes: tuple[str, ...] = Field(strict=False)
    length: PositiveInt           # characters (tokens) generated per sample
    temperature: PositiveFloat
    top_k: NonNegativeInt         # 0 = no top-k filter
    seed: int
    bootstrap_block: PositiveInt  # characters per resampled block
    bootstrap_samples: PositiveInt
    batch_size: PositiveInt       # parallel streams when scoring a split
    dynamic: DynamicEvalParams
    # models whose full next-token distributions are kept (data/scores/<model>/logp.<split>.npy, and
    # dynamic.logp.<split>.npy under dynamic evaluation): what the cm model mixes
    distributions: tuple[str, ...] = Field(default=(), strict=False)


# ---------------------------------------------------------------------------------------- mix
class MixParams(_Schema):
    """A `mix.<name>` entry: a linear interpolation of members' per-character probabilities, weights by
    EM on val (SRILM's compute-best-mix), scored on test."""
    members: tuple[str, ...] = Field(strict=False)   # <model> (static scores) or <model>.dynamic
    cache_order: NonNegativeInt   # > 0: add an adaptive n-gram of this order over the split's scored text


# ---------------------------------------------------------------------------------------- cm
MAX_CM_ORDER = 32


class CMParams(_Schema):
    """The context-mixing model (stage cm, src/charlm/cm): its own online context models, a match model and
    word contexts, with members' distributions as inputs, mixed in the log domain (docs/evaluation.md)."""
    members: tuple[str, ...] = Field(strict=False)   # <model> or <model>.dynamic, listed in evaluate.distributions
    orders: tuple[int, ...] = Field(strict=False)    # context lengths in symbols of its count models, 0..32
    word_contexts: int = Field(ge=0, le=4)     # 1: the current word's prefix; 2: also with the previous word; ...
    match_min: int = Field(ge=2, le=32)        # the match model looks the last match_min symbols up
    count_limit: int = Field(ge=1, le=15)      # a slot's learning rate 1/(n + 1.5) stops falling at n = limit
    table_bits: int = Field(ge=8, le=24)       # 2^table_bits buckets per context (~96 B each for 28 symbols)
    mixer_lr: PositiveFloat                    # first mixer layer's step on the log loss
    final_lr: PositiveFloat                    # second layer's
    sse_lr: float = Field(gt=0, lt=1)          # SSE maps' rate
    sse_weight: float = Field(ge=0, le=1)      # share of the SSE maps in the final probability
    weight_init: float                         # every first-layer weight's start
    ablation: bool                             # also score val with each component dropped (report table)


# ---------------------------------------------------------------------------------------- zpaq
# An expert method (`man zpaq`, -method): x, the block size (log2 MiB), the preprocessing step and its
# arguments, then components c i a w m s t, each with its own numeric arguments: x6.0ci1.1.1aw2m16s.
ZPAQ_EXPERT = re.compile(r"x(\d{1,2})(?:[.,]\d+)*(?:[ciawmst](?:\d+(?:[.,]\d+)*)?)*")


def _zpaq_method(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        _check(1 <= value <= 5, "", f"must be a zpaq level in 1..5, got {value}")
        return value
    expert = ZPAQ_EXPERT.fullmatch(value) if isinstance(value, str) else None
    _check(expert is not None and int(expert[1]) <= 11, "",
           f"must be a zpaq level 1..5 or an expert method such as \"x6.0ci1.1.1aw2m16s\" (x, block size "
           f"0..11, then preprocessing and components: man zpaq, -method), got {value!r}")
    return value


class ZpaqParams(_Schema):
    """The compressor anchor: zpaq's cost of each held-out split given the training split (stage zpaq)."""
    # Candidates, the best on val reported on test; -m5, zpaq's default, is measured beside them in any case.
    methods: tuple[Annotated[Union[int, str], PlainValidator(_zpaq_method)], ...] = Field(strict=False)
    per_book: bool   # also each test book's cost, for a paired comparison over books (one compression a book)

    def _rules(self) -> None:
        _check(len(self.methods) > 0, "methods", "must list at least one method")
        first = {}
        for i, method in enumerate(self.methods):
            j = first.setdefault(method, i)
            _check(j == i, f"methods[{i}]", f"{method!r} is already methods[{j}]")


# ------------------------------------------------------------------------------------- compare
class CompareParams(_Schema):
    """The architecture comparison's repeats: each of `models` trains again at every seed in `seeds` (in its
    train@<model> stage, after the run at its own `train.seed`) and is scored (evaluate@<model>), so the report
    can tell a gap between architectures from training noise."""
    models: list[str]
    seeds: list[Annotated[int, Field(ge=0)]]


# ------------------------------------------------------------------------------------- runtime
class RuntimeParams(_Schema):
    """How the stages that run a model use this machine; charlm.kernels says why portable is the default."""
    kernels: Literal["portable", "native"]   # portable: AVX2 at most, the same bytes on every x86-64 machine


# ----------------------------------------------------------------------------------------- root
class Params(_Schema):
    data: DataParams
    preprocess: PreprocessParams
    vocab: VocabParams
    train: TrainParams
    models: dict[str, AnyModelParams]
    ngram: dict[str, NgramParams]
    evaluate: EvaluateParams
    mix: dict[str, MixParams]
    zpaq: ZpaqParams
    compare: CompareParams
    cm: CMParams
    runtime: RuntimeParams

    def _rules(self) -> None:
        _check(len(self.models) > 0, "models", "must define at least one model")
        for section, names in (("models", self.models), ("ngram", self.ngram), ("mix", self.mix)):
            for name in names:
                # Model names become file names (models/<name>.pt) and DVC stage keys.
                _check(name.replace("_", "").isalnum() and name.isascii(), f"{section}.{name}",
                       "model names may use only ASCII letters, digits and _")
                # data/scores/ngram holds the n-grams' files, data/scores/seeds the repeats' (charlm.model_names).
                _check(name not in ("ngram", "seeds"), f"{section}.{name}", f"{name!r} is reserved (data/scores/{name})")
        clash = set(self.models) & set(self.ngram)
        _check(not clash, "ngram", f"names also used under models: {sorted(clash)}")
        clash = set(self.mix) & (set(self.models) | set(self.ngram))
        _check(not clash, "mix", f"names also used under models or ngram: {sorted(clash)}")
        champions = [name for name, model in self.models.items() if model.role == "champion"]
        _check(len(champions) <= 1, f"models.{champions[-1]}.role" if champions else "models",
               f"at most one model may be the champion, got {champions}")
        for i, name in enumerate(self.evaluate.dynamic.models):
            _check(name in self.models, f"evaluate.dynamic.models[{i}]",
                   f"{name!r} is not a neural model under models (valid: {', '.join(sorted(self.models))})")
        for name, mix in self.mix.items():
            for i, member in enumerate(mix.members):
                self._check_member(f"mix.{name}.members[{i}]", member)
            _check(len(mix.members) + (mix.cache_order > 0) >= 2, f"mix.{name}.members",
                   "a mixture needs at least two components (members, and the cache if cache_order > 0)")
            _check(len(set(mix.members)) == len(mix.members), f"mix.{name}.members", "has repeated members")
        for i, name in enumerate(self.evaluate.distributions):
            _check(name in self.models or name in self.ngram, f"evaluate.distributions[{i}]",
                   f"{name!r} is not a model under models or ngram")
        for name in self.models:
            self.model_train(name)  # validates each model's overrides before any stage starts
        self._check_compare()
        self._check_cm()

    def _check_cm(self) -> None:
        cm = self.cm
        for i, member in enumerate(cm.members):
            key = f"cm.members[{i}]"
            self._check_member(key, member)
            name = member.partition(".")[0]
            _check(name in self.evaluate.distributions, key,
                   f"{member!r}: {name!r} keeps no distributions; add it to evaluate.distributions")
        _check(len(set(cm.members)) == len(cm.members), "cm.members", "has repeated members")
        for i, order in enumerate(cm.orders):
            _check(0 <= order <= MAX_CM_ORDER, f"cm.orders[{i}]", f"must be in 0..{MAX_CM_ORDER}, got {order}")
        _check(len(set(cm.orders)) == len(cm.orders) and list(cm.orders) == sorted(cm.orders), "cm.orders",
               "must be increasing, without repeats")
        _check(len(cm.orders) + cm.word_contexts > 0, "cm", "needs at least one context (orders or word_contexts)")

    def _check_compare(self) -> None:
        compare = self.compare
        for i, name in enumerate(compare.models):
            _check(name in self.models, f"compare.models[{i}]",
                   f"{name!r} is not a neural model under models (valid: {', '.join(sorted(self.models))})")
        _check(len(set(compare.models)) == len(compare.models), "compare.models", "has repeated models")
        _check(len(set(compare.seeds)) == len(compare.seeds), "compare.seeds", "has repeated seeds")
        for i, seed in enumerate(compare.seeds):
            for name in compare.models:
                # The repeat would be the same run as train@<name>, under another name.
                _check(seed != self.model_train(name).seed, f"compare.seeds[{i}]",
                       f"{seed} is already models.{name}'s own train.seed (train@{name})")

    def with_seed(self, name: str, seed: int) -> "Params":
        """These params with model `name` trained at train.seed = `seed`: one of its compare.seeds repeats."""
        model = self.models[name]
        models = {**self.models, name: model.model_copy(update={"train": {**model.train, "seed": seed}})}
        return self.model_copy(update={"models": models})

    def seed_runs(self, name: str) -> list[int]:
        """Every seed model `name` trains at: its own train.seed (train@<name>), then its compare.seeds."""
        repeats = self.compare.seeds if name in self.compare.models else []
        return [self.model_train(name).seed, *repeats]

    def _check_member(self, key: str, member: str) -> None:
        name, _, mode = member.partition(".")
        _check(name in self.models or name in self.ngram, key,
               f"{member!r}: {name!r} is not a model under models or ngram")
        _check(mode in ("", "dynamic"), key, f"{member!r}: write <model> or <model>.dynamic")
        _check(mode != "dynamic" or name in self.evaluate.dynamic.models, key,
               f"{member!r}: {name!r} is not listed in evaluate.dynamic.models")

    def model_train(self, name: str) -> TrainParams:
        """The shared `train` section with `models.<name>.train` merged over it, validated."""
        model = self.models[name]
        shared = sorted(SHARED_ONLY.keys() & model.train.keys())
        if shared:
            raise _Invalid(f"models.{name}.train.{shared[0]}",
                           f"can only be set in the shared train section ({SHARED_ONLY[shared[0]]})")
        try:
            merged = _validate(TrainParams, {**self.train.model_dump(), **model.train})
        except _Invalid as e:
            raise _under(f"models.{name}.train", e) from None
        try:
            model.check_train(merged)
        except _Invalid as e:
            raise _under(f"models.{name}", e) from None
        return scaled_budget(merged)


def scaled_budget(train: TrainParams) -> TrainParams:
    """`train` with its token counts (budget, warm-up, evaluation interval) times `budget_scale`, which
    becomes 1: a machine half as fast sets 0.5 and keeps the same shape of run in the same minutes."""
    if train.budget_scale == 1:
        return train
    scale = train.budget_scale
    return train.model_copy(update={
        "max_tokens": max(1, round(train.max_tokens * scale)),
        "warmup_tokens": round(train.warmup_tokens * scale),
        "eval_every_tokens": max(1, round(train.eval_every_tokens * scale)),
        "budget_scale": 1.0})


# ----------------------------------------------------------------------------------- the loader
def read_yaml(path: str | Path) -> Any:
    """The parsed YAML file: the one reader of params files; a missing or malformed file is a ParamsError."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None


def load_params(path: str | Path = "params.yaml", overrides: Mapping[str, Any] | None = None,
                source: str | Path | None = None) -> Params:
    """Read and validate params.yaml, after setting `overrides` ({dotted key: value}, from the file `source`).

    Every problem is a ParamsError naming the file (`source`, when overrides are given) and the dotted key.
    """
    raw = read_yaml(path)
    try:
        return parse_params(_set_keys(raw, overrides or {}, Path(path).name))
    except ParamsError as e:
        raise ParamsError(f"{source or path}: {e}") from None


def parse_params(raw: object) -> Params:
    """Validate an already-loaded mapping (tests use this directly)."""
    return _validate(Params, raw)


def _set_keys(raw: Any, overrides: Mapping[str, Any], name: str) -> Any:
    # {dotted key: value} set as `dvc exp run -S` would; a key written `~a.b` deletes entry b of a (Hydra's `~`).
    if not overrides:
        return raw
    merged = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        delete = dotted.startswith("~")
        *parents, leaf = dotted.lstrip("~").split(".")
        node = merged
        for i, part in enumerate(parents):
            # A new leaf is fine (the schema then rejects keys it does not know); a new section is a typo.
            _check(isinstance(node, dict) and isinstance(node.get(part), dict), dotted,
                   f"no section {'.'.join(parents[:i + 1])} in {name}")
            node = node[part]
        if delete:
            _check(leaf in node, dotted, f"nothing to delete: no such key in {name}")
            del node[leaf]
        else:
            node[leaf] = value
    return merged


# ------------------------------------------------------------------------ pydantic errors, one line
def _validate(schema: type[_Schema], raw: Any):
    try:
        return schema.model_validate(raw)
    except ValidationError as e:
        raise _unwrap(e) from None


def _unwrap(e: ValidationError) -> _Invalid:
    # The outermost model has already worded the error; pydantic wraps it once more.
    return e.errors()[0]["ctx"]["error"]


def _first(e: ValidationError) -> dict:
    # A misspelt key is also a missing one: name the misspelling, as pydantic lists it last.
    return min(e.errors(), key=lambda error: error["type"] != "extra_forbidden")


_EXPECTED = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
             "string_type": "a string", "tuple_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
             "model_attributes_type": "a mapping"}


def _describe(error: dict, fields: dict) -> _Invalid:
    """pydantic's `error` as an _Invalid keyed by its path; `fields`: the model's own, for keys and bounds."""
    loc, kind, value = error["loc"], error["type"], error["input"]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    field = fields.get(loc[-1]) if len(loc) == 1 else None
    if kind == "value_error":   # a check's or a nested model's _Invalid, keyed below `loc`
        return _under(key, error["ctx"]["error"])
    if kind == "missing":   # a key, or an item of a fixed-length list
        return _Invalid(key, "missing key" if isinstance(loc[-1], str) else "missing")
    if kind == "extra_forbidden":
        return _Invalid(key, f"unknown key (valid: {', '.join(sorted(fields))})")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and field:
        return _Invalid(key, f"must be {_bounds(field.metadata, field.annotation)}, got {value}")
    if kind == "literal_error" and field:
        return _Invalid(key, f"must be one of {', '.join(map(str, typing.get_args(field.annotation)))}; "
                             f"got {value!r}")
    if kind in _EXPECTED:
        shown = type(value).__name__ if isinstance(value, (dict, list)) else repr(value)
        return _Invalid(key, f"must be {_EXPECTED[kind]}, got {shown}")
    if kind == "string_pattern_mismatch":
        return _Invalid(key, f"must match {error['ctx']['pattern']}, got {value!r}")
    return _Invalid(key, error["msg"])


def _bounds(metadata: list, annotation: object) -> str:
    """`> 0`, `in (0, 1)`, `in [0, 1]`, or for integers `in 1..8`: the whole range, not just the bound missed."""
    b = {op: getattr(m, op) for m in metadata for op in ("gt", "ge", "lt", "le") if hasattr(m, op)}
    if len(b) == 1:
        ((op, bound),) = b.items()
        return f"{dict(gt='>', ge='>=', lt='<', le='<=')[op]} {bound}"
    if annotation is int:
        return f"in {b['ge']}..{b['le']}"
    low, high = ("(", b["gt"]) if "gt" in b else ("[", b["ge"]), (")", b["lt"]) if "lt" in b else ("]", b["le"])
    return f"in {low[0]}{low[1]}, {high[1]}{high[0]}"


def _under(prefix: str, error: _Invalid) -> _Invalid:
    return _Invalid(f"{prefix}.{error.key}" if prefix and error.key else prefix or error.key, error.problem)
