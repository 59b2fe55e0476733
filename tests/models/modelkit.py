"""Small model params for the model tests: every arch × input kind, sized to run in milliseconds."""
from __future__ import annotations

from charlm.params import ARCH_PARAMS, RecurrentParams, TransformerParams

VOCAB = 11


def small(arch: str, input: str = "embedding", tie: bool = False, layers: int = 2, dropout: float = 0.0,
          hidden: int = 12) -> RecurrentParams:
    return ARCH_PARAMS[arch](arch=arch, role="compare", num_layers=layers, hidden_size=hidden,
                             embedding_size=hidden if tie else 6, input=input, dropout=dropout,
                             tie_weights=tie, train={})


def small_transformer(context: int = 8, stride: int = 3, dropout: float = 0.0, layers: int = 2) -> TransformerParams:
    # context 8 is shorter than the tests' sequences, so every test also crosses window boundaries.
    return TransformerParams(arch="transformer", role="compare", num_layers=layers, hidden_size=16, num_heads=2, context=context,
                             stride=stride, dropout=dropout, train={})


# (id, params): every arch, both input kinds, and weight tying.
VARIANTS = [(f"{arch}-{kind}", small(arch, input, tie))
            for arch in ("rnn", "gru", "lstm", "bilstm")
            for kind, input, tie in (("embedding", "embedding", False), ("one_hot", "one_hot", False),
                                     ("tied", "embedding", True))] + \
           [("transformer", small_transformer()), ("transformer-stride1", small_transformer(stride=1))]


def tiny_vocab():
    """<unk>, space and a-i: VOCAB tokens."""
    from charlm.data.vocab import Vocab
    return Vocab("char", ("<unk>", " ", *"abcdefghi"))


def saved_model(path, arch: str = "lstm", seed: int = 0):
    """Build a small model, save it as a charlm model file at `path`; returns (model, vocab)."""
    import torch

    from charlm.models import build_model
    from charlm.models.checkpoint import model_payload, save_checkpoint

    vocab = tiny_vocab()
    torch.manual_seed(seed)
    params = small(arch)
    model = build_model(params, len(vocab))
    save_checkpoint(path, model_payload(model, params, len(vocab), vocab.fingerprint, {"val_bpc": 1.0}))
    return model.eval(), vocab
