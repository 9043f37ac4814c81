"""The README's first example runs as written (so the docs cannot drift from the code)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    code = blocks[0].replace(
        'precision="bf16-mixed"', 'precision="bf16-mixed", logger=False, enable_checkpointing=False'
    )
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    from simtune import SimilarityModel

    loaded = SimilarityModel.load(tmp_path / "servable" / "products")
    texts = ["deep learning book", "USB-C charger 65W"]
    served = namespace["model"].servable().encode(texts)
    np.testing.assert_allclose(loaded.encode(texts), served, atol=1e-5)
