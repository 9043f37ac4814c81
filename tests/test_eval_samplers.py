"""Samplers and the chunked top-k against brute force on full similarity matrices."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from simtune.distances import Distance
from simtune.eval import (
    EmbeddedGroups,
    EmbeddedPairs,
    Evaluator,
    GroupSampler,
    PairClassificationSampler,
    PairSampler,
    precision_at_k,
    ranked_relevance,
    reciprocal_rank,
    roc_auc,
)
from simtune.samples import SimilarityGroupSample, SimilarityPairSample


def _brute(sim: torch.Tensor, q_labels, d_labels, k: int, same_set: bool):
    """Full-matrix reference: (relevance (q, k), n_relevant (q,)), pessimistic ties."""
    sim = sim.clone().double()
    rel = (q_labels[:, None] == d_labels[None, :]).double()
    if same_set:
        sim.fill_diagonal_(float("-inf"))
        rel.fill_diagonal_(0)
    out = torch.zeros(sim.shape[0], k)
    for i in range(sim.shape[0]):
        # Similarity descending, then non-relevant first among exact ties.
        items = sorted(range(sim.shape[1]), key=lambda j: (-sim[i, j].item(), rel[i, j].item()))
        if same_set:
            items = [j for j in items if j != i]
        ranked = [rel[i, j].item() for j in items[:k]]
        out[i, : len(ranked)] = torch.tensor(ranked)
    return out, rel.sum(1).long()


@pytest.mark.parametrize("same_set", [True, False])
@pytest.mark.parametrize("k", [1, 4, 50])
def test_ranked_relevance_matches_brute_force(same_set, k):
    g = torch.Generator().manual_seed(k)
    q = F.normalize(torch.randn(23, 8, generator=g), dim=1)
    d = q if same_set else F.normalize(torch.randn(17, 8, generator=g), dim=1)
    q_labels = torch.randint(0, 5, (23,), generator=g)
    d_labels = q_labels if same_set else torch.randint(0, 5, (17,), generator=g)
    got = ranked_relevance(
        q, d, q_labels, d_labels, k, same_set=same_set, query_chunk=5, doc_chunk=3
    )
    want = _brute(q @ d.T, q_labels, d_labels, k, same_set)
    assert torch.equal(got[0], want[0].float()) and torch.equal(got[1], want[1])


def test_pair_sampler_matches_full_matrix_ranks():
    g = torch.Generator().manual_seed(0)
    n = 60
    a, b = torch.randn(n, 16, generator=g), torch.randn(n, 16, generator=g)
    b = a + 1.5 * b  # partners are related, not identical
    x = F.normalize(torch.cat([a, b]), dim=1)
    sim = x @ x.T
    sim.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    rank = (sim > sim.gather(1, partner[:, None])).sum(1) + 1  # (2n,)
    pairs = EmbeddedPairs(emb_a=a, emb_b=b, scores=torch.ones(n))
    got = PairSampler(k=2 * n - 1, query_chunk=16, doc_chunk=32).score(
        pairs, {"precision@1": partial(precision_at_k, k=1), "mrr": reciprocal_rank}
    )
    assert got["precision@1"] == pytest.approx((rank == 1).float().mean().item())
    assert got["mrr"] == pytest.approx((1.0 / rank.float()).mean().item())
    # At depth 5, partners ranked below 5 score 0 (MRR@5).
    at5 = PairSampler(k=5).score(pairs, ["mrr"])["mrr"]
    assert at5 == pytest.approx(torch.where(rank <= 5, 1.0 / rank.float(), 0.0).mean().item())


def test_pair_sampler_one_way_and_negative_pairs():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    pairs = EmbeddedPairs(emb_a=a, emb_b=b, scores=torch.tensor([1.0, 1.0, 0.0]))
    relevance, n_rel = PairSampler(k=3, one_way=True).rank(pairs)
    # Query 0 finds b0 first; query 1 (cosines 0, 0.707, 1) ranks the negative pair's b2 above b1.
    assert relevance[:2].tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert n_rel.tolist() == [1, 1, 0]  # the negative pair's query has nothing relevant
    scores = PairSampler(k=3, one_way=True).score(pairs, ["precision@1", "mrr"])
    assert scores == pytest.approx({"precision@1": 0.5, "mrr": 0.75})
    two_way = PairSampler(k=5).rank(pairs)[1]
    assert two_way.tolist() == [1, 1, 0, 1, 1, 0]


def test_collapsed_model_ties_are_pessimistic():
    n = 4
    same = torch.ones(n, 3)  # every embedding equal: every similarity ties
    pairs = EmbeddedPairs(emb_a=same, emb_b=same.clone(), scores=torch.ones(n))
    got = PairSampler(k=2 * n - 1).score(pairs, ["precision@1", "mrr"])
    assert got == pytest.approx({"precision@1": 0.0, "mrr": 1 / (2 * n - 1)})


def test_short_collections_are_padded_to_k():
    pairs = EmbeddedPairs(emb_a=torch.eye(2), emb_b=torch.eye(2), scores=torch.ones(2))
    relevance, _ = PairSampler(k=10).rank(pairs)  # 3 other objects, list padded to 10
    assert relevance.shape == (4, 10) and relevance[:, 0].tolist() == [1.0] * 4
    assert PairSampler(k=10).score(pairs, ["precision@10"])["precision@10"] == pytest.approx(0.1)


def test_group_sampler_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    groups = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4] * 3)  # no singleton once tripled
    groups[-1] = 9  # one singleton group: nothing relevant, excluded
    emb = torch.randn(len(groups), 6, generator=g) + 2 * F.one_hot(groups % 6, 6).float()
    relevance, n_rel = GroupSampler(k=40, doc_chunk=7).rank(EmbeddedGroups(emb, groups))
    x = F.normalize(emb, dim=1)
    want, want_n = _brute(x @ x.T, groups, groups, 40, same_set=True)
    assert torch.equal(relevance, want.float()) and torch.equal(n_rel, want_n)
    assert n_rel[-1] == 0
    out = GroupSampler(k=40).score(EmbeddedGroups(emb, groups), ["r_precision", "map", "ndcg@10"])
    assert set(out) == {"r_precision", "map", "ndcg@10"} and 0 < out["map"] <= 1


def test_distance_other_than_cosine():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(20, 5, generator=g), torch.randn(20, 5, generator=g)
    pairs = EmbeddedPairs(a, a + 0.3 * b, torch.ones(20))
    relevance, _ = PairSampler(k=39, distance=Distance.EUCLIDEAN, doc_chunk=9).rank(pairs)
    x = torch.cat([pairs.emb_a, pairs.emb_b])
    labels = torch.cat([torch.arange(20), torch.arange(20)])
    want, _ = _brute(-torch.cdist(x, x), labels, labels, 39, same_set=True)
    assert torch.equal(relevance, want.float())


class _FakeModel:
    """encode() maps each text to a fixed random vector; records the calls."""

    def __init__(self, dim: int = 8) -> None:
        self.dim, self.calls = dim, []

    def encode(self, texts, batch_size=32, to_numpy=True):
        self.calls.append((len(texts), batch_size, to_numpy))
        rows = []
        for text in texts:
            g = torch.Generator().manual_seed(sum(map(ord, text)))
            rows.append(torch.randn(self.dim, generator=g))
        return torch.stack(rows)


def test_embed_and_evaluator_end_to_end():
    data = [SimilarityPairSample(f"q{i}", f"q{i}", score=1.0) for i in range(5)]  # identical texts
    model = _FakeModel()
    evaluator = Evaluator({"p@1": "precision@1", "mrr": reciprocal_rank}, PairSampler(batch_size=7))
    assert evaluator.evaluate(data, model) == pytest.approx({"p@1": 1.0, "mrr": 1.0})
    assert model.calls == [(10, 7, False)]  # one call over obj_a then obj_b, tensors requested
    groups = [SimilarityGroupSample(f"g{i % 2}", i % 2) for i in range(6)]
    assert Evaluator(["precision@1"], GroupSampler()).evaluate(groups, model) == {
        "precision@1": 1.0
    }


def test_pair_classification_sampler():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    b = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    pairs = EmbeddedPairs(a, b, torch.tensor([1.0, 0.0, 0.75, 0.25]))
    sampler = PairClassificationSampler()
    sims, labels = sampler.pair_scores(pairs)
    assert sims.tolist() == pytest.approx([1.0, 0.0, 1.0, 0.0]) and labels.tolist() == [1, 0, 1, 0]
    got = sampler.score(
        pairs, {"auc": roc_auc, "acc": "accuracy", "f1": "f1", "ap": "average_precision"}
    )
    assert got == pytest.approx({"auc": 1.0, "acc": 1.0, "f1": 1.0, "ap": 1.0})


def test_bad_inputs_name_the_problem():
    with pytest.raises(
        TypeError,
        match=r"dataset row 1: expected a SimilarityPairSample with field 'obj_a', got SimilarityGroupSample",
    ):
        PairSampler().embed(
            [SimilarityPairSample("a", "b"), SimilarityGroupSample("c", 0)], _FakeModel()
        )
    with pytest.raises(ValueError, match="unknown retrieval metric 'precision@0'"):
        Evaluator(["precision@0"], PairSampler())
    with pytest.raises(ValueError, match="unknown pair metric 'mrr'"):
        Evaluator(["mrr"], PairClassificationSampler())
    with pytest.raises(ValueError, match="PairSampler.k must be a positive int"):
        PairSampler(k=0)
    nan = EmbeddedPairs(torch.full((2, 2), float("nan")), torch.ones(2, 2), torch.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        PairSampler().score(nan, ["mrr"])


def test_with_similarity_model(tiny_bert_dir):
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    model = SimilarityModel(TransformerEncoder(str(tiny_bert_dir)))
    texts = [
        "how do i price storage",
        "what is a lambda function",
        "red shoes size small",
        "coffee mug",
    ]
    pairs = [SimilarityPairSample(t, t + " ?") for t in texts]
    embedded = PairSampler().embed(pairs, model)
    assert (
        embedded.emb_a.shape == (4, model.embedding_size) and embedded.scores.tolist() == [1.0] * 4
    )
    want = torch.as_tensor(model.encode(texts))
    assert torch.allclose(embedded.emb_a, want, atol=1e-5)
    out = Evaluator(["precision@1", "mrr"], PairSampler()).evaluate(pairs, model)
    assert 0.0 <= out["precision@1"] <= out["mrr"] <= 1.0
