"""Acceptance: the bundled all-MiniLM-L6-v2 on the cloud-FAQ validation pairs, Quaterion's protocol.

The split is the original tutorial's: ``train_test_split(df, stratify=df.source, random_state=42)``,
2,125 validation pairs of (question, answer). Expected: precision@1 0.564, MRR 0.663.
Slow: embedding 4,250 texts takes about 3 minutes on a 2-core CPU.
"""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.shared_data
def test_faq_precision_and_mrr(shared_data):
    path = shared_data / "cloud_faq" / "cloud_faq_dataset.jsonl"
    if not path.is_file():
        pytest.skip(f"cloud-FAQ data not found at {path}")
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from simtune.encoders import TransformerEncoder
    from simtune.eval import Evaluator, PairSampler
    from simtune.model import SimilarityModel
    from simtune.samples import SimilarityPairSample

    df = pd.read_json(path, lines=True)
    _, val = train_test_split(df, stratify=df.source, random_state=42)
    pairs = [SimilarityPairSample(q, a) for q, a in zip(val.question, val.answer, strict=True)]
    assert len(pairs) == 2125

    model = SimilarityModel(TransformerEncoder())
    result = Evaluator(["precision@1", "mrr"], PairSampler(batch_size=64)).evaluate(pairs, model)
    assert result["precision@1"] == pytest.approx(0.564, abs=0.002)
    assert result["mrr"] == pytest.approx(0.663, abs=0.002)
