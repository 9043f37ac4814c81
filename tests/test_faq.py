"""The cloud-FAQ application: data checks and split, a head-only training smoke run, serving
through an embedded Qdrant, and the Quaterion tutorial's four questions (shared data)."""

from __future__ import annotations

import json

import pytest

from faq.data import read_faq, split, to_pairs

# Hand-written FAQ rows: two sources, distinct topics, so a pre-trained encoder finds each answer.
ROWS = [
    ("aws", "how much does lambda cost?", "lambda is billed per request and per millisecond of compute time"),
    ("aws", "can i back up my database automatically?", "yes, automated database backups are kept for up to 35 days"),
    ("aws", "which regions offer object storage?", "object storage is available in every region"),
    ("aws", "how do i resize a server?", "stop the server, change its instance type and start it again"),
    ("aws", "is data encrypted at rest?", "all stored data is encrypted at rest with keys you control"),
    ("aws", "what is a load balancer?", "a load balancer spreads incoming network traffic across many servers"),
    ("aws", "how do i reset my password?", "open the account page and choose forgot password"),
    ("aws", "can functions call other functions?", "a function can invoke another function through the api"),
    ("aws", "what is the free tier?", "the free tier gives new accounts a monthly allowance of usage at no charge"),
    ("aws", "how do i delete a bucket?", "empty the bucket first, then delete it from the console"),
    ("gcp", "does the kubernetes service support autoscaling?", "yes, node pools scale up and down with the load"),
    ("gcp", "where are my logs stored?", "logs are kept in the logging service for 30 days by default"),
    ("gcp", "can i use a custom domain for my website?", "map your domain to the site in the dns settings"),
    ("gcp", "what payment methods are accepted?", "we accept credit cards and bank transfers"),
    ("gcp", "how fast is the network between zones?", "zones in a region are linked by low latency fibre"),
    ("gcp", "can i pause a virtual machine?", "suspend the virtual machine to keep its memory and stop paying for cpu"),
    ("gcp", "what is a service account?", "an identity used by applications rather than by people"),
    ("gcp", "how do i import a disk image?", "upload the image file to storage and create an image from it"),
    ("gcp", "is there a gpu for machine learning?", "gpus can be attached to virtual machines for training models"),
    ("gcp", "how do i contact support?", "open a support case from the help menu of the console"),
]


def write_rows(path, rows=ROWS):
    with path.open("w") as fd:
        for source, question, answer in rows:
            fd.write(json.dumps({"source": source, "question": question, "answer": answer}) + "\n")
    return path


def test_read_faq_and_pairs(tmp_path):
    rows = read_faq(write_rows(tmp_path / "faq.jsonl"))
    assert len(rows) == 20 and rows[0]["question"] == "how much does lambda cost?"
    train, val = split(rows)
    assert (len(train), len(val)) == (15, 5)
    assert sorted(r["source"] for r in val).count("aws") in (2, 3)  # stratified: 10/10 sources
    pairs = to_pairs(rows + [rows[0]])
    assert pairs[0].obj_b == rows[0]["answer"] and pairs[0].score == 1.0
    assert pairs[-1].subgroup == pairs[0].subgroup != pairs[1].subgroup  # same question, same subgroup


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"source": "aws", "answer": "a"}', "line 2: missing field 'question'"),
        ('{"source": "aws", "question": "q", "answer": "  "}', "line 2: field 'answer' must be a non-empty string"),
        ('{"source": "aws", "question": 3, "answer": "a"}', "line 2: field 'question' must be a non-empty string"),
        ('{"question": "q", "answer": "a"}', "line 2: field 'source' is missing here but present on line 1"),
        ('{"source": "aws", "question": "q",', "line 2: not valid JSON"),
        ('["q", "a"]', "line 2: expected a JSON object"),
    ],
)
def test_bad_lines_name_file_line_and_field(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"source": "aws", "question": "q0", "answer": "a0"}\n' + line + "\n")
    with pytest.raises(ValueError, match=rf"bad\.jsonl, {message}"):
        read_faq(path)


def test_missing_file_and_bad_config(tmp_path):
    from faq.train import TrainConfig

    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        read_faq(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="fp16")
    assert TrainConfig(lora=True).output == "servable/faq_lora"


def test_offline_download_says_what_to_do(tmp_path, monkeypatch):
    from faq.data import ensure_data

    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match="could not be downloaded from http://127.0.0.1:9/x.*pass --data FILE"):
        ensure_data(None, url="http://127.0.0.1:9/x")  # port 9 (discard): refused at once
    assert not (tmp_path / "data" / "cloud_faq_dataset.part").exists()
    with pytest.raises(FileNotFoundError, match="--data nope.jsonl: no such file"):
        ensure_data("nope.jsonl")


def test_cli_is_built_from_the_dataclass():
    from faq.cli import build_parser
    from faq.serve import ServeConfig
    from faq.train import TrainConfig

    args = build_parser(TrainConfig).parse_args(["--lora", "--batch-size", "96", "--no-baseline"])
    config = TrainConfig(**vars(args))
    assert (config.lora, config.batch_size, config.baseline, config.epochs) == (True, 96, False, 2)
    args = build_parser(ServeConfig).parse_args(["q one", "q two", "--k", "3"])
    assert ServeConfig(**vars(args)).questions == ["q one", "q two"]


def test_head_training_smoke(tmp_path, tiny_bert_dir):
    """Head-only training with the cache on a tiny set: trains, evaluates, saves a loadable servable."""
    import torch

    from faq.train import TrainConfig, run
    from simtune.model import SimilarityModel

    data = write_rows(tmp_path / "faq.jsonl")
    out = tmp_path / "servable"
    config = TrainConfig(data=str(data), model=str(tiny_bert_dir), output=str(out), epochs=3, batch_size=8,
                         lr=1e-2, precision="32", progress=False)  # fmt: skip
    result = run(config)
    assert (result["train_pairs"], result["val_pairs"]) == (15, 5)
    assert set(result["val"]) == {"precision@1", "mrr"}
    assert 0.0 <= result["val"]["precision@1"] <= result["val"]["mrr"] <= 1.0
    served = SimilarityModel.load(out)
    assert any(p.abs().sum() > 0 for p in served.head.fc.parameters())  # the head learned something
    # the cache-backed evaluation saw the same vectors the saved servable produces
    texts = [ROWS[0][1], ROWS[0][2]]
    model_out = served.encode(texts, to_numpy=False)
    assert model_out.shape == (2, 32) and torch.isfinite(model_out).all()


def test_lora_training_smoke(tmp_path, tiny_bert_dir):
    """--lora on a tiny set: only adapters learn, the saved servable is merged and loads as plain simtune."""
    from faq.train import TrainConfig, run
    from simtune.encoders import TransformerEncoder
    from simtune.heads import EmptyHead
    from simtune.model import SimilarityModel

    data = write_rows(tmp_path / "faq.jsonl")
    out = tmp_path / "servable"
    config = TrainConfig(data=str(data), model=str(tiny_bert_dir), output=str(out), lora=True, epochs=1,
                         batch_size=8, precision="32", progress=False)  # fmt: skip
    result = run(config)
    assert set(result["val"]) == {"precision@1", "mrr"} and "baseline" in result
    served = SimilarityModel.load(out)
    assert isinstance(served.encoders["default"], TransformerEncoder) and isinstance(served.head, EmptyHead)
    assert served.encode(["how much does lambda cost?"]).shape == (1, 32)


def test_serve_answers_from_embedded_qdrant(tmp_path, minilm_path, capsys):
    from faq.serve import main
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    servable = tmp_path / "servable"
    SimilarityModel(TransformerEncoder(str(minilm_path))).save(servable)
    data = write_rows(tmp_path / "faq.jsonl")
    argv = ["--servable", str(servable), "--data", str(data), "--index", str(tmp_path / "index"), "--k", "2",
            "how can i make backups of my database?", "is there a way to pause a vm?"]  # fmt: skip
    results = main(argv)
    assert [hits[0].payload["text"] for hits in results] == [ROWS[1][2], ROWS[15][2]]
    assert all(len(hits) == 2 and hits[0].score >= hits[1].score for hits in results)
    assert "indexed 20 answers" in capsys.readouterr().err
    main(argv)  # the second run finds the collection built by this servable and does not push
    assert "indexed" not in capsys.readouterr().err


TUTORIAL = {
    "what is the pricing of aws lambda functions powered by aws graviton2 processors?":
        "aws lambda functions powered by aws graviton2 processors are 20% cheaper compared to x86-based lambda"
        " functions",
    "can i run a cluster or job for a long time?": "yes, you can run a cluster for as long as is required",
    "what is the dell open manage system administrator suite (omsa)?":
        "omsa enables you to perform certain hardware configuration tasks and to monitor the hardware directly via"
        " the operating system",
    "what are the differences between the event streams standard and event streams enterprise plans?":
        "to find out more information about the different event streams plans, see choosing your plan",
}  # fmt: skip


def faq_file(shared_data):
    path = shared_data / "cloud_faq" / "cloud_faq_dataset.jsonl"
    if not path.is_file():
        pytest.skip(f"cloud-FAQ data not found at {path}")
    return path


@pytest.mark.shared_data
def test_tutorial_split_sizes(shared_data):
    rows = read_faq(faq_file(shared_data))
    train, val = split(rows)
    assert (len(rows), len(train), len(val)) == (8498, 6373, 2125)
    answers = {r["answer"] for r in rows}
    assert set(TUTORIAL.values()) <= answers  # the tutorial's expected answers are in the file


def tutorial_check(servable, data, index_dir):
    """Push the validation answers (as the tutorial's serve step did) and ask its four questions."""
    from faq.serve import main

    argv = ["--servable", str(servable), "--data", str(data), "--split", "val", "--index", str(index_dir)]
    results = main(argv + list(TUTORIAL))
    return [hits[0].payload["text"] for hits in results]


@pytest.mark.slow
@pytest.mark.shared_data
def test_tutorial_questions_pretrained(shared_data, minilm_path, tmp_path):
    """The pre-trained MiniLM already answers the tutorial's four questions (about a minute: it
    embeds the 2,125 validation answers)."""
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    data = faq_file(shared_data)
    servable = tmp_path / "pretrained"
    SimilarityModel(TransformerEncoder(str(minilm_path))).save(servable)
    assert tutorial_check(servable, data, tmp_path / "index") == list(TUTORIAL.values())


@pytest.mark.slow
@pytest.mark.shared_data
def test_tutorial_questions_trained_head(shared_data, tmp_path):
    """The head-trained servable (``python -m faq.train``) answers them too; skipped until it exists."""
    from pathlib import Path

    servable = Path(__file__).resolve().parents[1] / "servable" / "faq"
    if not (servable / "simtune.json").is_file():
        pytest.skip(f"no trained servable at {servable}: run python -m faq.train first")
    assert tutorial_check(servable, faq_file(shared_data), tmp_path / "index") == list(TUTORIAL.values())
