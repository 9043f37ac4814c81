"""Run every benchmark and write bench/results.md (the README's table) and bench/results.json.

Each benchmark is a subprocess ``python -m bench.<script>`` writing bench/out/<name>.json; a script
that is missing or fails is reported as not run, and the others go on. ``--quick`` passes each
script its quick settings. ``--table-only`` runs nothing and rebuilds the table from bench/out/.
The GPU figures (bench/out/gpu.json, from ``python -m bench.bench_gpu`` on a CUDA machine) are
included when present; run_all does not start them.

    python -m bench.run_all [--quick] [--only train encode ...] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import BENCH, OUT, REPO, machine
from bench.report import render

RESULTS_MD = BENCH / "results.md"
RESULTS_JSON = BENCH / "results.json"
README = REPO / "README.md"
# run_all rewrites the README between these markers, so the table there is the one in results.md
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Bench:
    """One benchmark script and the JSON file it writes."""

    name: str
    script: str
    quick_args: list[str] = field(default_factory=list)
    full_args: list[str] = field(default_factory=list)
    why_not_run: str = ""  # shown in the table while its JSON file is missing


BENCHES = [
    Bench("train", "bench_train", ["--quick"]),
    Bench("encode", "bench_encode", ["--quick"]),
    Bench("lora_vs_full", "bench_lora_vs_full", ["--quick", "--cap-gb", "2.5"]),
    Bench("lora_vs_full_nodrop", "bench_lora_vs_full",
          ["--quick", "--cap-gb", "2.5", "--modes", "lora_nodrop", "--name", "lora_vs_full_nodrop"],
          ["--modes", "lora_nodrop", "--min-batch", "128", "--max-batch", "256", "--name", "lora_vs_full_nodrop"]),
    Bench("eval", "bench_eval", ["--pairs", "20000", "--baseline-pairs", "2000", "--tm-pairs", "200"]),
    Bench("qdrant", "bench_qdrant", ["--n", "20000"]),
    Bench("esci", "bench_esci", ["--quick"]),
    Bench("faq", "bench_faq", ["--quick", "--skip", "lora"]),
]


def _supported(source: str, args: list[str]) -> list[str]:
    """Keep only the flags (with their values) that the script defines: a quoted "--flag" in its
    source, or a dataclass field ``flag:`` for scripts that build their command line from one."""
    kept, i = [], 0
    while i < len(args):
        flag = args[i]
        takes_value = i + 1 < len(args) and not args[i + 1].startswith("--")
        field_name = flag.lstrip("-").replace("-", "_")
        if f'"{flag}"' in source or re.search(rf"^\s+{re.escape(field_name)}\s*:", source, re.MULTILINE):
            kept += args[i : i + 1 + takes_value]
        i += 1 + takes_value
    return kept


def run_bench(bench: Bench, quick: bool, timeout: float) -> dict[str, Any]:
    script = BENCH / f"{bench.script}.py"
    if not script.is_file():
        return {"status": "not run", "why": f"bench/{bench.script}.py is missing"}
    args = _supported(script.read_text(), bench.quick_args if quick else bench.full_args)
    cmd = [sys.executable, "-m", f"bench.{bench.script}", *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print(f"== {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "not run", "why": f"timed out after {timeout:.0f} s", "args": args}
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        return {"status": "failed", "why": f"exit {proc.returncode}: {tail}", "args": args, "seconds": seconds}
    return {"status": "ok", "args": args, "seconds": seconds}


def collect(status: dict[str, Any]) -> dict[str, Any]:
    """Every bench/out/<name>.json known, with each benchmark's run status."""
    results: dict[str, Any] = {"machine": machine(), "benchmarks": {}}
    # Output that run_all does not produce itself: the GPU run.
    extra = [Bench("gpu", "bench_gpu", why_not_run="no GPU lent to this task; on CUDA: "
                   "python -m bench.bench_gpu --minilm DIR")]  # fmt: skip
    for bench in [*BENCHES, *extra]:
        path = OUT / f"{bench.name}.json"
        entry: dict[str, Any] = dict(status.get(bench.name, {}))
        if path.is_file():
            entry.setdefault("status", "from an earlier run")
            entry["data"] = json.loads(path.read_text())
            entry["file_time"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        else:
            entry.setdefault("status", "not run")
            if bench.why_not_run:
                entry.setdefault("why", bench.why_not_run)
        results["benchmarks"][bench.name] = entry
    return results


def update_readme(table: str) -> None:
    """Put ``table`` (its heading dropped: the README has its own) between the README's markers."""
    text = README.read_text()
    if README_START not in text or README_END not in text:
        return
    body = "\n".join(line for line in table.splitlines() if not line.startswith("## "))
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    README.write_text(f"{head}{README_START}\n{body.strip()}\n{README_END}{tail}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick settings")
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"run only these (names: {', '.join(b.name for b in BENCHES)})"
    )
    parser.add_argument("--table-only", action="store_true", help="run nothing; rebuild the table from bench/out/")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark")
    opts = parser.parse_args(argv)
    status: dict[str, Any] = {}
    if not opts.table_only:
        for bench in BENCHES:
            if opts.only is None or bench.name in opts.only:
                status[bench.name] = run_bench(bench, opts.quick, opts.timeout)
                print(
                    f"   {bench.name}: {status[bench.name]['status']} {status[bench.name].get('why', '')}", flush=True
                )
    results = collect(status)
    results["quick"] = opts.quick
    RESULTS_JSON.write_text(json.dumps(results, indent=2, default=float) + "\n")
    RESULTS_MD.write_text(render(results))
    update_readme(RESULTS_MD.read_text())
    print(RESULTS_MD.read_text())
    return results


if __name__ == "__main__":
    main()
