"""The transformer encoder: int8 ONNX run by onnxruntime, checksummed, and used for gated messages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.errors import ModelError
from bot.match.embed import MODEL_DIR
from bot.match.encoder import load_encoder


def test_encoder_gives_unit_vectors_that_know_paraphrases():
    """Paraphrases land closer than a sentence about something else, and every row has unit length."""
    enc = load_encoder()
    vecs = enc.embed_many(["china gives every citizen one social credit score",
                           "each person in china is assigned a single national score",
                           "how do i install the nvidia driver on ubuntu"])
    assert vecs.shape == (3, enc.dim)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3
    # A message's texts run one by one, so a text alone and among others get the same vector.
    assert np.array_equal(enc.embed("china gives every citizen one social credit score"), vecs[0])


def test_a_sentences_vector_does_not_depend_on_the_sentences_beside_it():
    """int8 quantisation scales by batch, so a message's sentences run one by one: the same sentence gets the
    same vector whatever the rest of the post says."""
    enc = load_encoder()
    claim = "in china a low social credit score stops you from buying train tickets"
    short = enc.embed_many([claim, "lol"])
    long = enc.embed_many([claim, "and then there was the long story about my cousin's wedding in the "
                                  "countryside, the bus that broke down twice and the rain that never stopped"])
    assert np.array_equal(short[0], long[0])


def test_a_damaged_encoder_file_is_refused(tmp_path: Path):
    """A model file that does not match SHA256SUMS is refused with a message saying what to do."""
    damaged = tmp_path / "model"
    shutil.copytree(MODEL_DIR, damaged)
    with (damaged / "encoder.onnx").open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match="encoder.onnx does not match its checksum"):
        load_encoder(damaged)


def test_runtime_needs_no_torch_and_no_network():
    """Building a brain and matching loads onnxruntime but never torch or transformers."""
    code = ("import sys\nfrom bot.brain import build_brain\nfrom bot.config import Config\n"
            "c = Config(); b, _ = build_brain(c.knowledge_dirs(), c.match)\n"
            "assert b.matcher.uses_encoder\n"
            "b.matcher.match('china gives everyone a single social credit score')\n"
            "print(sorted(m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "NO_PROXY": "*",
                              "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"})
    assert out.stdout.strip() == "['onnxruntime']"


def test_the_build_script_documents_its_pinned_build_steps():
    """scripts/build_model.py names the CPU torch pin and per-channel quantisation it relies on."""
    text = (Path(__file__).parent.parent / "scripts" / "build_model.py").read_text()
    assert "torch==2.13.0" in text and "per_channel=True" in text


def test_precomputed_example_vectors_are_what_the_encoder_computes():
    """The bundled examples' stored vectors (a fast cold start) agree with running the encoder on them."""
    from bot.match.encoder import EXAMPLE_VECTORS, example_vectors_key

    with np.load(MODEL_DIR / EXAMPLE_VECTORS, allow_pickle=False) as data:
        assert str(data["key"]) == example_vectors_key()
        texts = [str(t) for t in data["texts"][::97]]
        stored = data["vectors"][::97].astype(np.float32)
    fresh = load_encoder()._run(texts)
    assert len(texts) >= 10
    # int8 quantisation takes its activation scale from the whole batch, so a text's vector moves slightly with
    # the texts it is run beside (here, other texts than at build time): close, not equal.
    cosines = (fresh * stored).sum(axis=1)
    assert float(np.min(cosines)) > 0.97
    assert float(np.mean(cosines)) > 0.985
