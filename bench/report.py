"""Render bench/results.md from the collected bench/out/*.json (see bench.run_all).

Each section reads its own file defensively: a benchmark whose output is missing or has another
shape gives a "not run" or "see file" line rather than breaking the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[str, str, str, str, str, str]  # what, simtune, peer, ratio, target, notes


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _ratio(value: float | None, target: float | None = None) -> str:
    if value is None:
        return "-"
    mark = "" if target is None else (" (met)" if value >= target else " (short)")
    digits = 3 if target is not None and value < target and round(value, 2) >= target else 2  # not "1.00x (short)"
    return f"{value:.{digits}f}x{mark}"


def _train(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    settings = data.get("settings", {})
    steps = settings.get("steps") or "1 epoch"
    for precision, row in data.get("summary", {}).items():
        ours, st = row["simtune"], row["st"]
        note = (
            f"batch {settings.get('batch_size')}, max_len {settings.get('max_length')}, "
            + (f"{steps} steps" if isinstance(steps, int) else steps)
            + ", LoRA r=8; "
            + ("sides concurrently" if settings.get("parallel") else "sides one after the other")
        )
        rows.append(
            (
                f"Training pairs/s, {precision} (CPU)",
                _f(ours["pairs_per_s"]),
                _f(st["pairs_per_s"]),
                _ratio(row["throughput_ratio"], 1.2),
                ">= 1.2x",
                note,
            )
        )
        if "cpu_time_ratio" in row:
            rows.append(
                (
                    f"Training pairs per CPU-second, {precision}",
                    _f(ours["pairs_per_cpu_s"], 2),
                    _f(st["pairs_per_cpu_s"], 2),
                    _ratio(row["cpu_time_ratio"], 1.2),
                    ">= 1.2x",
                    "process CPU time (all threads): less sensitive to other jobs than wall time",
                )
            )
        rows.append(
            (
                f"Training peak RSS MiB, {precision}",
                _f(ours["peak_rss_mb"], 0),
                _f(st["peak_rss_mb"], 0),
                _ratio(ours["peak_rss_mb"] / st["peak_rss_mb"]),
                "-",
                "whole process, lower is better",
            )
        )
        if "precision@1" in ours and "precision@1" in st:
            per_seed = {
                fw: ", ".join(
                    f"{r['precision@1']:.3f}"
                    for r in data.get("runs", [])
                    if r.get("framework") == fw and r.get("precision") == precision and "precision@1" in r
                )
                for fw in ("simtune", "st")
            }
            rows.append(
                (
                    f"Validation precision@1 / MRR, {precision}",
                    f"{ours['precision@1']:.3f} / {ours['mrr']:.3f}",
                    f"{st['precision@1']:.3f} / {st['mrr']:.3f}",
                    _ratio(ours["precision@1"] / st["precision@1"], 1.0),
                    ">= 1.0x p@1",
                    "2,125 cloud-FAQ validation pairs, two-way PairSampler; median over runs, p@1 per run: "
                    f"simtune {per_seed['simtune']}; ST {per_seed['st']}",
                )
            )
    return rows


def _train_one_block(data: dict[str, Any]) -> list[Row]:
    """simtune with bucket_size=None (the whole batch padded as one block), if it was run."""
    rows: list[Row] = []
    for precision, row in data.get("summary", {}).items():
        if "simtune_one_block" not in row:
            continue
        ours, st = row["simtune_one_block"], row["st"]
        rows.append(
            (
                f"Training pairs/s, {precision}, simtune without length buckets",
                _f(ours["pairs_per_s"]),
                _f(st["pairs_per_s"]),
                _ratio(row["one_block_throughput_ratio"]),
                "-",
                f"bucket_size=None: 2n texts padded as one block; peak RSS {_f(ours['peak_rss_mb'], 0)} MiB",
            )
        )
    return rows


def _encode(data: dict[str, Any], where: str = "CPU") -> list[Row]:
    rows: list[Row] = []
    results = data.get("results", {})
    n = results.get("n_texts")
    for key, row in results.items():
        if not (isinstance(row, dict) and "simtune" in row):
            continue
        bs, precision = key[2:].split("_", 1)
        rows.append(
            (
                f"Encoding texts/s, batch {bs}, {precision} ({where})",
                _f(row["simtune"]["texts_per_s"]),
                _f(row["st"]["texts_per_s"]),
                _ratio(row["ratio"], 1.0) + (f"; CPU time {row['cpu_ratio']:.2f}x" if "cpu_ratio" in row else ""),
                ">= 1.0x",
                f"{n} cloud-FAQ answers" + (", both under bf16 autocast" if precision == "bf16" else ""),
            )
        )
    if "fp32_max_abs_diff" in results:
        rows.append(
            (
                "Encoding fp32 max abs difference",
                f"{results['fp32_max_abs_diff']:.1e}",
                "",
                "",
                "< 1e-5",
                "simtune vs ST embeddings",
            )
        )
    for key, row in results.items():
        if key.startswith("st_bf16_weights"):
            rows.append(
                (
                    f"ST with bf16 weights, {key.rsplit('_', 1)[-1]}",
                    "",
                    _f(row["texts_per_s"]),
                    "",
                    "-",
                    "model.to(bfloat16) instead of autocast, for reference",
                )
            )
    return rows


def _lora_vs_full(data: dict[str, Any]) -> list[Row]:
    same = {r["mode"]: r for r in data.get("same_batch", []) if "error" not in r}
    summary = data.get("summary", {})
    rows: list[Row] = []
    if len(same) == 2:
        lo, fu = same["lora"], same["full"]
        rows.append(
            (
                f"Step time s, batch {lo['batch']}: LoRA | full",
                _f(lo["step_s"], 2),
                _f(fu["step_s"], 2),
                _ratio(summary.get("full_over_lora_step_time")),
                "guide: 1.35x",
                "full / LoRA; both simtune (CPU)",
            )
        )
        rows.append(
            (
                f"Peak RSS MiB, batch {lo['batch']}: LoRA | full",
                _f(lo["peak_rss_mb"], 0),
                _f(fu["peak_rss_mb"], 0),
                _ratio(summary.get("full_over_lora_peak_rss")),
                "-",
                "full / LoRA",
            )
        )
    largest = summary.get("largest_batch_under_cap", {})
    if largest:
        lo, fu = largest.get("lora"), largest.get("full")
        ratio = lo / fu if lo and fu else None
        rows.append(
            (
                f"Largest batch under {summary.get('cap_gb')} GB peak RSS: LoRA | full",
                _f(lo),
                _f(fu),
                _ratio(ratio),
                "guide: 2x",
                "doubling search; MiniLM has 22.7M weights, so activations, not optimizer state, fill memory",
            )
        )
    return rows


def _lora_nodrop(data: dict[str, Any]) -> list[Row]:
    """LoRA with lora_dropout=0 (no mask and no saved copy of each adapter's input)."""
    same = [r for r in data.get("same_batch", []) if "error" not in r]
    largest = data.get("summary", {}).get("largest_batch_under_cap", {}).get("lora_nodrop")
    rows: list[Row] = []
    for r in same:
        rows.append(
            (
                f"LoRA without adapter dropout, batch {r['batch']}: step s / peak RSS MiB",
                f"{_f(r['step_s'], 2)} / {_f(r['peak_rss_mb'], 0)}",
                "",
                "",
                "-",
                f"largest batch under {data.get('summary', {}).get('cap_gb')} GB: {largest}; vs the LoRA rows above",
            )
        )
    return rows


def _eval(data: dict[str, Any]) -> list[Row]:
    main, base = data.get("main", {}), data.get("baselines", {})
    metrics = main.get("metrics", {})
    rows: list[Row] = [
        (
            f"Evaluation of {main.get('objects'):,} objects (PairSampler, k={data.get('config', {}).get('k')})",
            f"{_f(main.get('seconds'), 2)} s",
            "",
            "",
            "-",
            f"peak extra {_f(main.get('peak_extra_mb'), 0)} MiB; p@1 {metrics.get('precision@1', 0):.3f}",
        )
    ]
    if "torchmetrics_over_chunked_topk" in base:
        rows.append(
            (
                f"Evaluation vs torchmetrics ({base.get('torchmetrics_objects')} objects)",
                "",
                "",
                _ratio(base["torchmetrics_over_chunked_topk"]),
                "-",
                "torchmetrics time / simtune time",
            )
        )
    return rows


def _qdrant(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for key, label in (("synthetic", "random 384-d"), ("cloud_faq", "cloud-FAQ answers")):
        d = data.get(key)
        if not d:
            continue
        rows.append(
            (
                f"Qdrant search, {d.get('points'):,} points ({label})",
                f"p50 {_f(d.get('p50_ms'), 2)} ms, p99 {_f(d.get('p99_ms'), 2)} ms",
                f"exact p50 {_f(d.get('exact_p50_ms'), 2)} ms",
                "",
                "-",
                f"recall@10 {_f(d.get('recall_at_10'), 3)}; ingest {_f(d.get('ingest_points_per_s'), 0)} points/s",
            )
        )
    return rows


def _esci(data: dict[str, Any]) -> list[Row]:
    before, after = data.get("pretrained", {}), data.get("trained", {})
    return [
        (
            "ESCI ROC-AUC / nDCG@10: trained (simtune LoRA) | pre-trained",
            f"{after['roc_auc']:.3f} / {after['ndcg@10']:.3f}",
            f"{before['roc_auc']:.3f} / {before['ndcg@10']:.3f}",
            "",
            "-",
            f"esci_small, {after.get('val_pairs')} validation pairs, nDCG over {after.get('catalogue'):,} products "
            f"in Qdrant; {data.get('global_step')} steps in {_f(data.get('train_seconds'), 0)} s",
        )
    ]


def _faq(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    head, lora, cache = data.get("head"), data.get("lora"), data.get("cache")
    base = (head or {}).get("baseline")
    peer = f"{base['precision@1']:.3f} / {base['mrr']:.3f} (pre-trained)" if base else ""
    if head:
        val = head["val"]
        rows.append(
            (
                "cloud-FAQ p@1 / MRR, head-only + cache",
                f"{val['precision@1']:.3f} / {val['mrr']:.3f}",
                peer,
                "",
                ">= 0.577 / 0.675",
                f"{head['config']['epochs']} epochs in {_f(head.get('train_s'), 0)} s, {head['config']['precision']}",
            )
        )
    if lora:
        val, cfg = lora["val"], lora["config"]
        rows.append(
            (
                "cloud-FAQ p@1 / MRR, LoRA",
                f"{val['precision@1']:.3f} / {val['mrr']:.3f}",
                peer,
                "",
                ">= 0.62 / 0.72",
                f"{cfg['epochs']} epochs in {_f(lora.get('train_s'), 0)} s; batch {cfg['batch_size']}, "
                f"lr {cfg['lr']}, {cfg['precision']}",
            )
        )
    if cache:
        estimated = cache.get("uncached_steps_timed", 0) < cache.get("steps_per_epoch", 0)
        rows.append(
            (
                "Head-only epoch s: cached | encoder every step",
                _f(cache["epoch_s_cached"], 2),
                _f(cache["epoch_s_uncached"], 1),
                _ratio(cache["speedup"], 20.0),
                ">= 20x",
                f"batch {cache['batch_size']}, {cache['precision']}, {cache['steps_per_epoch']} steps"
                + (f"; uncached scaled from {cache['uncached_steps_timed']} steps" if estimated else ""),
            )
        )
    return rows


def _generic(name: str) -> Callable[[dict[str, Any]], list[Row]]:
    def rows(data: dict[str, Any]) -> list[Row]:
        flat = {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for key in ("summary", "results", "metrics"):
            if isinstance(data.get(key), dict):
                flat.update(
                    {k: v for k, v in data[key].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                )
        shown = ", ".join(f"{k} {_f(v, 3) if isinstance(v, float) else v}" for k, v in list(flat.items())[:6])
        return [(name, shown or f"see bench/out/{name}.json", "", "", "-", f"bench/out/{name}.json")]

    return rows


def _gpu(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    gpu = data.get("machine", {}).get("gpu", "GPU")
    for stage, payload in data.get("stages", {}).items():
        if "error" in payload:
            rows.append((f"GPU {stage}", "failed", "", "", "-", payload["error"][:80]))
        elif stage.startswith("train"):
            rows += [(f"{r[0].replace('(CPU)', '')}[{gpu}, {stage[6:]}]", *r[1:]) for r in _train(payload)]
        elif stage.startswith("encode"):
            rows += _encode(payload, f"{gpu}, {stage[7:]}")
    return rows


SECTIONS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "train": lambda d: _train(d) + _train_one_block(d),
    "encode": _encode,
    "lora_vs_full": _lora_vs_full,
    "lora_vs_full_nodrop": _lora_nodrop,
    "eval": _eval,
    "qdrant": _qdrant,
    "esci": _esci,
    "faq": _faq,
    "gpu": _gpu,
}


def render(results: dict[str, Any]) -> str:
    """The markdown table (and a line per benchmark not run) from ``run_all.collect``'s output."""
    m = results["machine"]
    lines = [
        "## Benchmarks",
        "",
        f"{m['date']}; {m['cpu']}, {m['cores']} cores; torch {m['torch']}, "
        f"transformers {m.get('transformers')}, sentence-transformers {m.get('sentence_transformers')}, "
        f"Lightning {m.get('pytorch_lightning')}, peft {m.get('peft')}"
        + ("; quick settings" if results.get("quick") else "")
        + ".",
        "Ratios are simtune / peer (higher is better for throughput, lower for memory); each comparison ran "
        "its two sides in one session, one after the other, so the ratios are what to read: absolute CPU "
        "times move with the machine's other load.",
        "",
        "| What | simtune | peer | ratio | target | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    missing = []
    for name, entry in results["benchmarks"].items():
        if "data" not in entry:
            missing.append(
                f"- {name}: {entry.get('status', 'not run')}" + (f" ({entry['why']})" if entry.get("why") else "")
            )
            continue
        try:
            rows = SECTIONS.get(name, _generic(name))(entry["data"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError) as err:
            rows = [(name, f"see bench/out/{name}.json", "", "", "-", f"unreadable here: {err!r}"[:80])]
        if entry.get("status") == "failed":
            missing.append(f"- {name}: failed this time, table shows an earlier run ({entry.get('file_time')})")
        lines += [
            "| " + " | ".join(cell.replace("|", "/") if i == 0 else cell for i, cell in enumerate(row)) + " |"
            for row in rows
        ]
    sources = []
    for name, entry in results["benchmarks"].items():
        if "data" not in entry:
            continue
        machine_info = entry["data"].get("machine", {}) if isinstance(entry["data"], dict) else {}
        loads = [v for k, v in machine_info.items() if "load" in k]
        load = loads[-1] if loads else None
        load_text = f", load average {load[0] if isinstance(load, list) else load:.1f}" if load is not None else ""
        sources.append(f"{name} {entry.get('file_time', '?')}{load_text}")
    if sources:
        # a 2-core machine at load ~2 is quiet; at ~10 other jobs shared it and times are inflated
        intro = "Measured (file time, 1-minute load average where recorded): "
        lines += ["", intro + "; ".join(sources) + "."]
    if missing:
        lines += ["", "Not run or not current:", *missing]
    return "\n".join(lines) + "\n"
