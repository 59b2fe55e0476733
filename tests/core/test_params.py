"""The params schema: the real params.yaml and the tiny profile validate; every kind of mistake is one line naming the key."""
from __future__ import annotations

import copy

import pytest
import yaml

from charlm.params import ARCH_PARAMS, ParamsError, load_params, parse_params
from helpers import REPO, TINY_PARAMS

BOOK_ID_RULE = "a positive integer or a name matching ^[a-z0-9][a-z0-9_-]{0,63}$"

@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_default_and_tiny_params_validate():
    params = load_params(REPO / "params.yaml")
    assert [b.id for b in params.data.books] == [11, 120, 1342, 1661, 174, 2554, 2701, 43, 74, 84]
    assert set(params.models) == {"rnn", "gru", "lstm", "deep_lstm", "bilstm", "transformer", "champion"}
    assert [name for name, m in params.models.items() if m.role == "champion"] == ["champion"]
    load_params(TINY_PARAMS)


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["train"].update(lr=-1), "train.lr: must be > 0"),
    (lambda r: r["train"].update(batch_size=0), "train.batch_size: must be > 0"),
    (lambda r: r["train"].update(lr="fast"), "train.lr: must be a number"),
    (lambda r: r["train"].update(schedule="linear"), "train.schedule: must be one of constant, cosine, plateau"),
    (lambda r: r["models"]["gru"].update(hidden_sise=3), "models.gru.hidden_sise: unknown key"),
    (lambda r: r["models"]["gru"]["train"].update(lr=0), "models.gru.train.lr: must be > 0"),
    (lambda r: r["models"]["gru"]["train"].update(lrr=1), "models.gru.train.lrr: unknown key"),
    (lambda r: r["models"]["gru"].update(arch="lstn"), "models.gru.arch: unknown arch 'lstn' (valid: bilstm, gru, lstm, rnn, transformer)"),
    # the recipe's knobs: budgets must be positive, schedules are named, the launcher is shared
    (lambda r: r["models"]["lstm"]["train"].update(max_tokens=0), "models.lstm.train.max_tokens: must be > 0"),
    (lambda r: r["train"].update(warmup_tokens=-1), "train.warmup_tokens: must be >= 0"),
    (lambda r: r["models"]["lstm"]["train"].update(schedule="onecycle"),
     "models.lstm.train.schedule: must be one of constant, cosine, plateau; got 'onecycle'"),
    (lambda r: r["models"]["lstm"]["train"].update(launcher="torchrun"),
     "models.lstm.train.launcher: can only be set in the shared train section"),
    (lambda r: r["train"].update(launcher=" "), "train.launcher: must not be empty"),
    (lambda r: r["models"]["transformer"]["train"].update(num_steps=256),
     "models.transformer.train.num_steps: must be <= context (128) for a transformer, got 256"),
    (lambda r: r["models"]["gru"].update(tie_weights=True), "models.gru.tie_weights: needs embedding_size == hidden_size"),
    (lambda r: r["preprocess"].update(val_fraction=0.6, test_fraction=0.5), "preprocess.val_fraction: val_fraction + test_fraction must be < 1"),
    (lambda r: r["preprocess"].update(test_fraction=-0.1), "preprocess.test_fraction: must be in (0, 1)"),
    (lambda r: r["vocab"].update(min_freq=-1), "vocab.min_freq: must be >= 0"),
    (lambda r: r["vocab"].pop("token"), "vocab.token: missing key"),
    (lambda r: r["vocab"].update(token="byte"), "vocab.token: must be one of char, word"),
    (lambda r: r["data"].update(books=[]), "data.books: must list at least one book"),
    (lambda r: r["data"]["books"][0].update(id=-3), f"data.books[0].id: must be {BOOK_ID_RULE}, got -3"),
    (lambda r: r["data"]["books"][0].update(id="../etc"), f"data.books[0].id: must be {BOOK_ID_RULE}, got '../etc'"),
    (lambda r: r["data"]["books"][0].update(id=True), f"data.books[0].id: must be {BOOK_ID_RULE}, got True"),
    (lambda r: r["data"]["books"][0].update(sha256="ABC"), "data.books[0].sha256: must match ^[0-9a-f]{64}$"),
    (lambda r: r["data"].update(verify="error"), "data.verify: must be one of warn, strict; got 'error'"),
    (lambda r: r["data"].pop("verify"), "data.verify: missing key"),
    # strict types: no "32" -> 32, no 1.0 -> 1
    (lambda r: r["train"].update(batch_size="32"), "train.batch_size: must be an integer, got '32'"),
    (lambda r: r["train"].update(batch_size=32.0), "train.batch_size: must be an integer, got 32.0"),
    (lambda r: r["train"].update(betas=[0.9, "0.99"]), "train.betas[1]: must be a number, got '0.99'"),
    (lambda r: r["models"]["gru"].pop("arch"), "models.gru.arch: missing key"),
    (lambda r: r["models"]["gru"].update(hidden_size=-3), "models.gru.hidden_size: must be > 0, got -3"),
    (lambda r: r["models"]["gru"].update(train=[]), "models.gru.train: must be a mapping, got list"),
    # a misspelt key is also a missing one: the misspelling is named, with the valid keys
    (lambda r: r["vocab"].update(tokn=r["vocab"].pop("token")), "vocab.tokn: unknown key (valid: min_freq, reserved, token)"),
    (lambda r: r["ngram"]["kn5"].update(discount=1.5), "ngram.kn5.discount: must be in (0, 1)"),
    (lambda r: r["ngram"]["kn5"].update(order=0), "ngram.kn5.order: must be in 1..8"),
    (lambda r: r["ngram"]["add3"].update(epsilon=[1.0, 0.0, 1.0]), "ngram.add3.epsilon: every ε must be > 0"),
    (lambda r: r.update(extra=1), "extra: unknown key"),
    # issue 12's keys: precision, budget_scale, role, dynamic evaluation, mixtures, zpaq
    (lambda r: r["train"].update(precision="fp16"), "train.precision: must be one of auto, fp32, bf16; got 'fp16'"),
    (lambda r: r["models"]["gru"]["train"].update(precision="half"),
     "models.gru.train.precision: must be one of auto, fp32, bf16; got 'half'"),
    (lambda r: r["train"].update(budget_scale=0), "train.budget_scale: must be > 0, got 0"),
    (lambda r: r["train"].pop("budget_scale"), "train.budget_scale: missing key"),
    (lambda r: r["models"]["gru"]["train"].update(budget_scale=0.5),
     "models.gru.train.budget_scale: can only be set in the shared train section"),
    (lambda r: r["models"]["gru"].update(role="best"), "models.gru.role: must be one of compare, champion; got 'best'"),
    (lambda r: r["models"]["transformer"].pop("role"), "models.transformer.role: missing key"),
    (lambda r: r["models"]["rnn"].update(role="champion"),
     "models.champion.role: at most one model may be the champion, got ['rnn', 'champion']"),
    (lambda r: r["evaluate"]["dynamic"].update(models=["champion", "kn6"]),
     "evaluate.dynamic.models[1]: 'kn6' is not a neural model under models (valid: bilstm, champion, deep_lstm"),
    (lambda r: r["evaluate"]["dynamic"].update(decay=1.0), "evaluate.dynamic.decay: must be in [0, 1), got 1.0"),
    (lambda r: r["evaluate"]["dynamic"].update(optimizer="adam"),
     "evaluate.dynamic.optimizer: must be one of sgd, rms; got 'adam'"),
    (lambda r: r["evaluate"]["dynamic"].update(segment=0), "evaluate.dynamic.segment: must be > 0, got 0"),
    (lambda r: r["evaluate"].pop("dynamic"), "evaluate.dynamic: missing key"),
    (lambda r: r["mix"]["ensemble"].update(members=["champion", "kn7"]),
     "mix.ensemble.members[1]: 'kn7': 'kn7' is not a model under models or ngram"),
    (lambda r: r["mix"]["ensemble"].update(members=["champion", "gru.dynamic"]),
     "mix.ensemble.members[1]: 'gru.dynamic': 'gru' is not listed in evaluate.dynamic.models"),
    (lambda r: r["mix"]["ensemble"].update(members=["kn6.dynamic", "gru"]),
     "mix.ensemble.members[0]: 'kn6.dynamic': 'kn6' is not listed in evaluate.dynamic.models"),
    (lambda r: r["mix"]["ensemble"].update(members=["champion.static", "gru"]),
     "mix.ensemble.members[0]: 'champion.static': write <model> or <model>.dynamic"),
    (lambda r: r["mix"]["ensemble"].update(members=["gru"], cache_order=0),
     "mix.ensemble.members: a mixture needs at least two components"),
    (lambda r: r["mix"]["ensemble"].update(members=[], cache_order=6),
     "mix.ensemble.members: a mixture needs at least two components"),
    (lambda r: r["mix"]["ensemble"].update(members=["gru", "kn6", "gru"]), "mix.ensemble.members: has repeated members"),
    (lambda r: r["mix"]["ensemble"].update(cache_order=-1), "mix.ensemble.cache_order: must be >= 0, got -1"),
    (lambda r: r["mix"].update(gru=r["mix"]["ensemble"]), "mix: names also used under models or ngram: ['gru']"),
    (lambda r: r["mix"].update(kn6=r["mix"]["ensemble"]), "mix: names also used under models or ngram: ['kn6']"),
    (lambda r: r["mix"].update({"my-mix": r["mix"]["ensemble"]}),
     "mix.my-mix: model names may use only ASCII letters, digits and _"),
    # issue 19's zpaq.methods: levels and expert methods, each item named
    (lambda r: r["zpaq"].update(methods=[5, 6]), "zpaq.methods[1]: must be a zpaq level in 1..5, got 6"),
    (lambda r: r["zpaq"].update(methods=["x6.0ci1", "m5"]), "zpaq.methods[1]: must be a zpaq level 1..5 or an expert"),
    (lambda r: r["zpaq"].update(methods=["x12.0c"]), "zpaq.methods[0]: must be a zpaq level 1..5 or an expert"),
    (lambda r: r["zpaq"].update(methods=["5"]), "zpaq.methods[0]: must be a zpaq level 1..5 or an expert"),
    (lambda r: r["zpaq"].update(methods=[True]), "zpaq.methods[0]: must be a zpaq level 1..5 or an expert"),
    (lambda r: r["zpaq"].update(methods=[]), "zpaq.methods: must list at least one method"),
    (lambda r: r["zpaq"].update(methods=[5, "x6.0c", 5]), "zpaq.methods[2]: 5 is already methods[0]"),
    (lambda r: r["zpaq"].update(method=5), "zpaq.method: unknown key (valid: methods, per_book)"),
    (lambda r: r["zpaq"].pop("per_book"), "zpaq.per_book: missing key"),
    (lambda r: r.pop("zpaq"), "zpaq: missing key"),
    # issue 19's seeds: the comparison's repeats
    (lambda r: r["compare"].update(models=["gru", "kn6"]), "compare.models[1]: 'kn6' is not a neural model"),
    (lambda r: r["compare"].update(models=["gru", "gru"]), "compare.models: has repeated models"),
    (lambda r: r["compare"].update(seeds=[1, 1]), "compare.seeds: has repeated seeds"),
    (lambda r: r["compare"].update(seeds=[-1]), "compare.seeds[0]: Input should be greater than or equal to 0"),
    (lambda r: r["compare"].update(seeds=[3, 0]),
     "compare.seeds[1]: 0 is already models.rnn's own train.seed (train@rnn)"),
    (lambda r: r.pop("compare"), "compare: missing key"),
    # issue 20's cm model and the distributions it mixes
    (lambda r: r["cm"].update(orders=[1, 2, 40]), "cm.orders[2]: must be in 0..32, got 40"),
    (lambda r: r["cm"].update(orders=[3, 2]), "cm.orders: must be increasing, without repeats"),
    (lambda r: r["cm"].update(members=["champion.dynamic", "kn9"]),
     "cm.members[1]: 'kn9': 'kn9' is not a model under models or ngram"),
    (lambda r: r["cm"].update(members=["gru"]),
     "cm.members[0]: 'gru': 'gru' keeps no distributions; add it to evaluate.distributions"),
    (lambda r: r["cm"].update(members=["kn8.dynamic"]),
     "cm.members[0]: 'kn8.dynamic': 'kn8' is not listed in evaluate.dynamic.models"),
    (lambda r: r["cm"].update(table_bits=30), "cm.table_bits: must be in 8..24, got 30"),
    (lambda r: r["cm"].update(orders=[], word_contexts=0), "cm: needs at least one context"),
    (lambda r: r["evaluate"].update(distributions=["champion", "nope"]),
     "evaluate.distributions[1]: 'nope' is not a model under models or ngram"),
    (lambda r: r.pop("cm"), "cm: missing key"),
    (lambda r: r["runtime"].update(kernels="avx512"), "runtime.kernels: must be one of"),
    (lambda r: r.pop("runtime"), "runtime: missing key"),
])
def test_bad_params_name_the_dotted_key(raw, edit, message):
    bad = copy.deepcopy(raw)
    edit(bad)
    with pytest.raises(ParamsError) as err:
        parse_params(bad)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_repeat_trains_one_model_at_another_seed_and_nothing_else(raw):
    params = parse_params(raw)
    name = params.compare.models[0]
    repeat = params.with_seed(name, 7)
    assert repeat.model_train(name).seed == 7 and params.model_train(name).seed == raw["train"]["seed"]
    others = [m for m in params.models if m != name]
    assert [repeat.model_train(m) for m in others] == [params.model_train(m) for m in others]
    assert params.seed_runs(name) == [raw["train"]["seed"], *raw["compare"]["seeds"]]
    assert params.seed_runs("champion") == [params.model_train("champion").seed]   # not repeated


def test_model_train_merges_overrides(raw):
    edited = copy.deepcopy(raw)
    edited["models"]["gru"]["train"] = {"lr": 0.5, "batch_size": 7}
    edited["models"]["rnn"]["train"] = {}
    params = parse_params(edited)
    assert params.model_train("gru").lr == 0.5 and params.model_train("gru").batch_size == 7
    assert params.model_train("gru").num_steps == params.train.num_steps   # keys not overridden are shared
    assert params.model_train("rnn") == params.train


def test_load_params_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("data: [unclosed")
    with pytest.raises(ParamsError, match=r"params.yaml: not valid YAML"):
        load_params(path)
    with pytest.raises(ParamsError, match=r"nope.yaml: file not found"):
        load_params(tmp_path / "nope.yaml")


def test_every_arch_has_a_params_class():
    assert {"rnn", "gru", "lstm", "bilstm", "transformer"} <= set(ARCH_PARAMS)


def test_a_book_pin_is_optional_and_lists_become_tuples(raw):
    edited = copy.deepcopy(raw)
    edited["data"]["books"][0].pop("sha256", None)
    params = parse_params(edited)
    assert params.data.books[0].sha256 is None
    assert params.train.betas == (0.9, 0.99) and isinstance(params.evaluate.prefixes, tuple)


def test_valid_mixtures_and_dynamic_members(raw):
    edited = copy.deepcopy(raw)
    edited["evaluate"]["dynamic"]["models"] = ["champion", "transformer"]
    edited["mix"] = {"pair": {"members": ["champion.dynamic", "transformer.dynamic"], "cache_order": 0},
                     "with_cache": {"members": ["kn6"], "cache_order": 4},      # one member plus the cache is two
                     "static": {"members": ["champion", "champion.dynamic"], "cache_order": 0}}
    params = parse_params(edited)
    assert params.mix["with_cache"].members == ("kn6",) and params.mix["static"].cache_order == 0
    edited["mix"], edited["evaluate"]["dynamic"]["models"] = {}, []    # neither is required
    edited["cm"]["members"] = []                                       # nor are the cm's members
    assert parse_params(edited).mix == {} and parse_params(edited).cm.members == ()


def test_no_champion_is_allowed(raw):
    edited = copy.deepcopy(raw)
    edited["models"]["champion"]["role"] = "compare"
    assert {m.role for m in parse_params(edited).models.values()} == {"compare"}


def test_budget_scale_scales_every_token_budget(raw):
    edited = copy.deepcopy(raw)
    edited["train"]["budget_scale"] = 0.5
    params, unscaled = parse_params(edited), parse_params(raw)
    for name in ("rnn", "gru", "champion", "transformer"):
        scaled, full = params.model_train(name), unscaled.model_train(name)
        assert scaled.max_tokens == full.max_tokens // 2                        # per-model overrides scale too
        assert scaled.warmup_tokens == full.warmup_tokens // 2
        assert scaled.eval_every_tokens == full.eval_every_tokens // 2
        assert scaled.budget_scale == 1.0                                        # applied once, not again
        assert scaled.model_copy(update={k: getattr(full, k) for k in ("max_tokens", "warmup_tokens",
                                                                        "eval_every_tokens")}) == full
    # The champion's own budget (models.champion.train.max_tokens) is scaled, not just the shared one.
    assert params.model_train("champion").max_tokens == raw["models"]["champion"]["train"]["max_tokens"] // 2
    assert params.train.max_tokens == unscaled.train.max_tokens   # the section itself stays as written


def test_a_tiny_budget_scale_keeps_budgets_positive(raw):
    edited = copy.deepcopy(raw)
    edited["train"]["budget_scale"] = 1e-9
    p = parse_params(edited).model_train("gru")
    assert p.max_tokens == 1 and p.eval_every_tokens == 1 and p.warmup_tokens == 0


def test_precision_may_differ_per_model(raw):
    edited = copy.deepcopy(raw)
    edited["models"]["transformer"]["train"]["precision"] = "bf16"
    params = parse_params(edited)
    assert params.model_train("transformer").precision == "bf16" and params.model_train("gru").precision == "auto"
