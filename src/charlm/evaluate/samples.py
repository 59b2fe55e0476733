"""Text samples for reports/samples/<name>.md: a greedy and a seeded temperature continuation per prefix."""
from __future__ import annotations

from dataclasses import dataclass

from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.lm import LanguageModel
from charlm.params import EvaluateParams


@dataclass(frozen=True)
class Sample:
    prefix: str          # the prefix as the model saw it (tokens outside the vocab shown as <unk>)
    greedy: str          # continuation only, argmax at every step
    sampled: str         # continuation only, temperature sampling with the evaluate seed
    unknown: int         # prefix tokens that were outside the vocabulary


def continuation(vocab: Vocab, prefix_ids: list[int], ids: list[int]) -> str:
    """The decoded text that `ids` add after the prefix (a word vocab re-inserts the joining space)."""
    return vocab.decode(prefix_ids + list(ids))[len(vocab.decode(prefix_ids)):]


def generate_samples(lm: LanguageModel, vocab: Vocab, params: EvaluateParams) -> list[Sample]:
    """One Sample per `evaluate.prefixes` entry, `evaluate.length` tokens each; prefix i samples with seed + i."""
    samples = []
    for i, prefix in enumerate(params.prefixes):
        prefix_ids = [int(t) for t in vocab.encode(prefix)]
        if prefix == "" or not prefix_ids:
            raise CharlmError(f"evaluate.prefixes[{i}]: must not be empty")
        greedy = lm.generate(prefix_ids, params.length, greedy=True)
        # One seed per prefix: with a shared seed, two samples whose contexts happen to meet would
        # continue identically from there on.
        sampled = lm.generate(prefix_ids, params.length, greedy=False, temperature=params.temperature,
                              top_k=params.top_k, seed=params.seed + i)
        samples.append(Sample(vocab.decode(prefix_ids), continuation(vocab, prefix_ids, greedy),
                              continuation(vocab, prefix_ids, sampled), prefix_ids.count(0)))
    return samples


def samples_markdown(name: str, samples: list[Sample], params: EvaluateParams) -> str:
    """The markdown page of one model's samples; the prefix is shown in [brackets]."""
    top_k = f"top-k {params.top_k}" if params.top_k else "no top-k filter"
    lines = [f"# Samples from `{name}`", "",
             f"Each prefix is continued for {params.length} tokens, twice: **greedy** takes the most likely "
             f"token at every step (the notebook's `predict`), **sampled** draws from the model's "
             f"distribution at temperature {params.temperature}, {top_k}, seed {params.seed} + the prefix's "
             "position in the list. "
             "The prefix is in [brackets].", ""]
    for s in samples:
        lines += [f"## \"{s.prefix}\"", ""]
        if s.unknown:
            lines += [f"({s.unknown} prefix token(s) are not in the vocabulary and were fed as `<unk>`.)", ""]
        for label, text in (("greedy", s.greedy), ("sampled", s.sampled)):
            lines += [f"{label}:", "", "```text", f"[{s.prefix}]{text}", "```", ""]
    return "\n".join(lines)
