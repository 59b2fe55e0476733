"""Model files: round trip, and a clear CharlmError for a wrong vocab, a broken file or pickled code."""
from __future__ import annotations

import pickle

import pytest
import torch

from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.lm import load_lm
from charlm.models.checkpoint import load_model
from modelkit import saved_model


def test_round_trip_scores_like_the_saved_model(tmp_path):
    model, vocab = saved_model(tmp_path / "m.pt", "bilstm")
    lm = load_lm(tmp_path / "m.pt", vocab)
    assert lm.name == "m" and lm.directions == ("forward", "backward")
    assert lm.num_parameters == sum(p.numel() for p in model.parameters())
    tokens = torch.randint(0, len(vocab), (50,))
    expected = -torch.log_softmax(model(tokens[None, :-1])[0][0], -1).gather(1, tokens[1:, None]).squeeze(1)
    got = torch.from_numpy(lm.token_nll(tokens.numpy(), batch_size=1))
    torch.testing.assert_close(got, expected.double(), rtol=1e-5, atol=1e-6)


def test_another_vocab_is_refused(tmp_path):
    saved_model(tmp_path / "m.pt")
    other = Vocab("char", ("<unk>", " ", *"abcdefghj"))
    with pytest.raises(CharlmError, match=r"m.pt: trained on a different vocabulary"):
        load_model(tmp_path / "m.pt", other)


def test_corrupt_and_truncated_files_are_clear_errors(tmp_path):
    _, vocab = saved_model(tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.pt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.pt").write_bytes(b"")
    for name in ("half.pt", "noise.pt", "empty.pt"):
        with pytest.raises(CharlmError, match=rf"{name}: corrupt"):
            load_model(tmp_path / name, vocab)


class _Payload:
    def __reduce__(self):  # what a malicious checkpoint does: run code while unpickling
        return (open, ("PWNED_MARKER", "w"))


def test_a_crafted_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, vocab = saved_model(tmp_path / "m.pt")
    torch.save({"format": "charlm-model-1", "evil": _Payload()}, tmp_path / "zip.pt")
    (tmp_path / "raw.pt").write_bytes(pickle.dumps({"evil": _Payload()}, protocol=2))  # torch's own protocol
    for name in ("zip.pt", "raw.pt"):
        with pytest.raises(CharlmError, match=rf"{name}: refused to load: it contains pickled Python objects"):
            load_model(tmp_path / name, vocab)
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_a_resume_file_is_not_a_model(tmp_path):
    from charlm.train.resume import save_resume

    _, vocab = saved_model(tmp_path / "m.pt")
    save_resume(tmp_path / "r.pt", "abc", {"position": {}})
    with pytest.raises(CharlmError, match=r"r.pt: not a charlm-model-1 checkpoint \(found 'charlm-resume-1'\)"):
        load_model(tmp_path / "r.pt", vocab)
