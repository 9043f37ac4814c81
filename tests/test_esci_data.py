"""esci.data, esci.data_forms and esci.tables: every input form, the label mapping, the split by
query, and the row-level errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from esci.data import (
    COLUMNS,
    EsciDataConfig,
    EsciDataError,
    load_esci,
    split_by_query,
    to_catalogue,
    to_pair_samples,
    to_qrels,
)
from esci.data_forms import EXAMPLES_FILE, PRODUCTS_FILE

JUDGMENTS = "query_id,query,product_id,esci_label\n" + "".join(
    f"{q},{text},{p},{label}\n" for q, text, p, label in [
        (1, "red running shoes", "P1", "E"), (1, "red running shoes", "P2", "S"),
        (1, "red running shoes", "P3", "C"), (2, "usb c cable", "P4", "E"),
        (2, "usb c cable", "P5", "I"), (3, "coffee mug", "P6", "E"),
    ])
PRODUCTS = ("product_id,product_title,product_description\n"
            "P1,Nike Red Running Shoe,\nP2,\"Adidas Running Shoe, Blue\",light\n"
            "P3,Running Socks 6 Pack,\nP4,USB-C Cable 6ft,\nP5,HDMI Cable,\n"
            "P6,Ceramic Coffee Mug 12 oz,\n")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def pair_folder(tmp_path) -> Path:
    _write(tmp_path / "judgments.csv", JUDGMENTS)
    _write(tmp_path / "products.csv", PRODUCTS)
    return tmp_path


EXAMPLE_COLUMNS = ["example_id", "query", "query_id", "product_id", "product_locale",
                   "esci_label", "small_version", "large_version", "split"]
EXAMPLES = [
    (0, "red shoe", 10, "A1", "us", "E", 1, 1, "train"),
    (1, "red shoe", 10, "A2", "us", "I", 1, 1, "train"),
    (2, "zapato rojo", 11, "A1", "es", "E", 1, 1, "train"),
    (3, "blue mug", 12, "A3", "us", "S", 0, 1, "train"),
    (4, "green hat", 13, "A2", "us", "C", 1, 1, "test"),
]
PRODUCT_COLUMNS = ["product_id", "product_title", "product_description", "product_bullet_point",
                   "product_brand", "product_color", "product_locale"]
OFFICIAL_PRODUCTS = [
    ("A1", "Red Shoe", "", "", "X", "red", "us"),
    ("A1", "Zapato Rojo", None, "", "X", "rojo", "es"),
    ("A2", "Green Hat", "warm", "", "Y", "green", "us"),
    ("A3", "Blue Mug", "", "", "Z", "blue", "us"),
]


def _official(folder: Path, examples: list[tuple] | None = None) -> Path:
    """Write the two official parquet files (examples default to ``EXAMPLES``) into ``folder``."""
    pd.DataFrame(examples or EXAMPLES, columns=EXAMPLE_COLUMNS).to_parquet(folder / EXAMPLES_FILE)
    pd.DataFrame(OFFICIAL_PRODUCTS, columns=PRODUCT_COLUMNS).to_parquet(folder / PRODUCTS_FILE)
    return folder


def test_official_parquet_with_filters(tmp_path):
    df = load_esci(_official(tmp_path))  # defaults: small_version=1, locale us, split train
    assert list(df.columns) == list(COLUMNS)
    assert df[["query_id", "product_id", "product_title", "label"]].values.tolist() == [
        [10, "A1", "Red Shoe", "E"], [10, "A2", "Green Hat", "I"]]
    assert df["score"].tolist() == [1.0, 0.0] and df["gain"].tolist() == [3.0, 0.0]
    both = load_esci(tmp_path / EXAMPLES_FILE,
                     EsciDataConfig(locales=(), small_version_only=False, official_split=None))
    assert len(both) == 5
    # Several locales: ids are qualified because A1 has a title per locale.
    assert both["product_id"].tolist()[:3] == ["us:A1", "us:A2", "es:A1"]
    assert both["product_title"].tolist()[2] == "Zapato Rojo"


def test_official_unknown_product_names_parquet_row(tmp_path):
    rows = [(0, "q", 1, "A1", "us", "E", 1, 1, "train"),
            (1, "q", 1, "NOPE", "us", "E", 1, 1, "train")]
    with pytest.raises(EsciDataError) as error:
        load_esci(_official(tmp_path, rows))
    assert error.value.file.endswith(EXAMPLES_FILE)
    assert (error.value.row, error.value.field) == ("row index 1", "product_id")
    assert "'NOPE'" in str(error.value)


def test_official_no_rows_left_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no rows left after the filters"):
        load_esci(_official(tmp_path), EsciDataConfig(locales=("jp",)))


def test_judgments_and_products_csv(pair_folder):
    for source in (pair_folder, (pair_folder / "judgments.csv", pair_folder / "products.csv")):
        df = load_esci(source)
        assert df["query_id"].tolist() == [1, 1, 1, 2, 2, 3]
        assert df["label"].tolist() == ["E", "S", "C", "E", "I", "E"]
        assert df["score"].tolist() == [1, 1, 0, 1, 0, 1]
        assert df["gain"].tolist() == [3, 2, 1, 3, 0, 3]
        assert df["product_title"][1] == "Adidas Running Shoe, Blue"
        assert df["product_description"][1] == "light"


@pytest.mark.shared_data
def test_shared_esci_small(shared_data):
    df = load_esci(shared_data / "esci_small")
    assert len(df) == 4188 and df["query_id"].nunique() == 200
    assert df["label"].value_counts().to_dict() == {"E": 1926, "S": 1376, "I": 719, "C": 167}
    assert df["score"].sum() == 1926 + 1376
    assert (df["product_title"].str.len() > 0).all()


def test_pairs_table_csv_jsonl_parquet_agree(tmp_path):
    rows = [{"query": "usb c cable", "product_title": "USB-C Cable 6ft", "relevance_label": 1},
            {"query": "usb c cable", "product_title": "HDMI Cable", "relevance_label": 0},
            {"query": "coffee mug", "product_title": "Ceramic Mug", "relevance_label": 1}]
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    _write(tmp_path / "t.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    loaded = [load_esci(tmp_path / f"t.{ext}") for ext in ("csv", "jsonl", "parquet")]
    for df in loaded:
        assert df["score"].tolist() == [1.0, 0.0, 1.0]
        assert df["gain"].tolist() == [1.0, 0.0, 1.0]
        assert df["query_id"][0] == df["query_id"][1] != df["query_id"][2]
        assert df["product_id"][0] != df["product_id"][1]
        pd.testing.assert_frame_equal(df, loaded[0])


def test_demo_is_the_default():
    df = load_esci()
    assert df["query_id"].nunique() >= 40 and len(df) >= 300
    assert set(df["label"]) == {"E", "S", "C", "I"}
    assert df["score"].tolist() == df["label"].isin(["E", "S"]).astype(float).tolist()


def test_label_mapping_is_configurable(pair_folder):
    config = EsciDataConfig(relevant_labels=("e",), gain_exact=1.0, gain_substitute=0.5,
                            gain_complement=0.0)
    df = load_esci(pair_folder, config)
    assert df["score"].tolist() == [1, 0, 0, 1, 0, 1]
    assert df["gain"].tolist() == [1, 0.5, 0, 1, 0, 1]


def test_numeric_relevance_threshold(tmp_path):
    _write(tmp_path / "t.csv", "query,product_title,relevance_label\nq,a,0\nq,b,0.5\nq,c,2\n")
    df = load_esci(tmp_path / "t.csv", EsciDataConfig(relevance_threshold=0.5))
    assert df["score"].tolist() == [0.0, 1.0, 1.0] and df["gain"].tolist() == [0.0, 0.5, 2.0]


@pytest.mark.parametrize("field, value", [
    ("relevant_labels", ("X",)), ("gain_exact", -1.0), ("val_fraction", 1.0),
    ("official_split", "dev"), ("locales", ("",)), ("relevance_threshold", float("nan")),
])
def test_config_names_bad_field(field, value):
    with pytest.raises(ValueError, match=rf"EsciDataConfig\.{field}"):
        EsciDataConfig(**{field: value})


def test_split_has_no_query_in_both_halves():
    df = load_esci()
    train, val = split_by_query(df, val_fraction=0.25, seed=3)
    assert len(train) + len(val) == len(df)
    assert not set(train["query"]) & set(val["query"])
    assert not set(train["query_id"]) & set(val["query_id"])
    assert val["query"].nunique() == round(0.25 * df["query"].nunique())
    again, _ = split_by_query(df, val_fraction=0.25, seed=3)
    pd.testing.assert_frame_equal(train, again)
    other, _ = split_by_query(df, val_fraction=0.25, seed=4)
    assert set(other["query"]) != set(train["query"])


def test_split_groups_queries_that_differ_in_case_only():
    df = pd.DataFrame({"query_id": [1, 2, 3, 4], "query": ["Red Shoe", "red  shoe", "mug", "hat"],
                       "product_title": list("abcd")})
    def keys(part: pd.DataFrame) -> set[str]:
        return {" ".join(q.lower().split()) for q in part["query"]}

    for seed in range(10):
        train, val = split_by_query(df, 0.5, seed)
        assert not keys(train) & keys(val)


def test_catalogue_and_qrels(pair_folder):
    df = load_esci(pair_folder)
    catalogue = to_catalogue(df)
    assert [p.product_id for p in catalogue] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert catalogue[1].payload == {"product_id": "P2", "product_description": "light",
                                    "product_title": "Adidas Running Shoe, Blue"}
    assert to_qrels(df) == {1: {"P1": 3.0, "P2": 2.0, "P3": 1.0}, 2: {"P4": 3.0, "P5": 0.0},
                            3: {"P6": 3.0}}


def test_to_pair_samples(pair_folder):
    pytest.importorskip("simtune.samples")
    samples = to_pair_samples(load_esci(pair_folder))
    assert [(s.obj_a, s.obj_b, s.score, s.subgroup) for s in samples[:2]] == [
        ("red running shoes", "Nike Red Running Shoe", 1.0, 1),
        ("red running shoes", "Adidas Running Shoe, Blue", 1.0, 1)]


def test_to_pair_samples_never_uses_subgroup_zero():
    pytest.importorskip("simtune.samples")
    df = pd.DataFrame({"query_id": [0, 0, 7, 0], "query": ["a", "a", "b", "a"],
                       "product_title": ["t1", "t2", "t3", "t4"], "score": [1.0, 0.0, 1.0, 1.0]})
    assert [s.subgroup for s in to_pair_samples(df)] == [1, 1, 2, 1]


def test_hf_name_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="HF_HUB_OFFLINE"):
        load_esci("smangrul/amazon_esci_no_such_copy")


def _assert_names(error: EsciDataError, file: Path, row: str, field: str) -> None:
    message = str(error)
    assert str(file) in message and row in message and repr(field) in message, message
    assert (error.file, error.row, error.field) == (str(file), row, field)


def test_error_missing_column(pair_folder):
    path = _write(pair_folder / "judgments.csv", "query_id,query,product_id\n1,q,P1\n")
    with pytest.raises(EsciDataError) as error:
        load_esci(pair_folder)
    _assert_names(error.value, path, "line 1 (header)", "esci_label")


def test_error_unknown_label(pair_folder):
    # The quoted title spans two lines, so the bad row is on line 5 of the file.
    path = _write(pair_folder / "t.csv", 'query,product_title,esci_label\nq,a,E\n'
                  'q,"two\nlines",S\nq,c,X\n')
    with pytest.raises(EsciDataError, match=re.escape("unknown label 'X'")) as error:
        load_esci(path)
    _assert_names(error.value, path, "line 5", "esci_label")


def test_error_empty_query(tmp_path):
    path = _write(tmp_path / "t.jsonl", '{"query": "q", "product_title": "a", "esci_label": "E"}\n'
                  "\n" '{"query": "  ", "product_title": "b", "esci_label": "E"}\n')
    with pytest.raises(EsciDataError, match="is empty") as error:
        load_esci(path)
    _assert_names(error.value, path, "line 3", "query")


def test_error_empty_title(pair_folder):
    path = _write(pair_folder / "products.csv", PRODUCTS.replace("P4,USB-C Cable 6ft", "P4,"))
    with pytest.raises(EsciDataError, match="is empty") as error:
        load_esci(pair_folder)
    _assert_names(error.value, path, "line 5", "product_title")


def test_error_empty_title_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"query": ["q", "q"], "product_title": ["a", None],
                  "relevance_label": [1, 0]}).to_parquet(path)
    with pytest.raises(EsciDataError) as error:
        load_esci(path)
    _assert_names(error.value, path, "row index 1", "product_title")


def test_error_unknown_product_id(pair_folder):
    path = _write(pair_folder / "judgments.csv", JUDGMENTS + "3,coffee mug,P99,S\n")
    with pytest.raises(EsciDataError, match="'P99' is not in the products file") as error:
        load_esci(pair_folder)
    _assert_names(error.value, path, "line 8", "product_id")


def test_error_duplicate_product_and_bad_query_id(pair_folder):
    products = _write(pair_folder / "products.csv", PRODUCTS + "P2,Another Title,\n")
    with pytest.raises(EsciDataError, match="more than one row") as error:
        load_esci(pair_folder)
    _assert_names(error.value, products, "line 8", "product_id")
    path = _write(pair_folder / "judgments.csv", JUDGMENTS.replace("3,coffee mug", "x3,coffee mug"))
    with pytest.raises(EsciDataError, match="not an integer id") as error:
        load_esci(pair_folder)
    _assert_names(error.value, path, "line 7", "query_id")


def test_unknown_source_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_esci(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError, match="exactly one table file"):
        load_esci(tmp_path)
