"""Render time of each formal letter, warm and right after a process starts.

Each letter (refusal, extension, erasure confirmation, fee) is rendered in
Danish and English from the sample values the message-template editor
previews with (dsr/message_samples.py), through dsr.letters.letter_pdf as the
worker renders it. For each, the median of ``--runs`` warm renders is given
as busy CPU time and as wall time. Then fresh processes render the erasure
confirmation once: without warming (what a worker's first letter paid before),
and after config.celery.worker_warm (what a worker does at start, before its
pool forks: the letters rendered once, the loaded objects frozen for the GC).

    .venv/bin/python bench/pdf.py --runs 15

Targets (issue "Speed"; medians on a 2-core machine):
  - the erasure confirmation, the letter every erasure sends, in <= 50 ms of busy CPU warm;
  - the first letter after a worker start within 1.5x a warm one.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from dsr.letters import LETTER_KINDS, LETTER_LANGUAGES, letter_pdf  # noqa: E402
from dsr.message_samples import sample_context  # noqa: E402

# The message each letter goes with (dsr.letters.letter_kind_for).
MESSAGE_OF_LETTER = {"refused": "refused", "extended": "extended", "fee": "fee", "erasure_confirmation": "completed"}
TARGET_WARM_CPU_MS = 50.0
TARGET_FIRST_RATIO = 1.5

# Run in a fresh interpreter: one erasure confirmation, timed, optionally after warming as a worker does.
_FIRST = """
import os, sys, time, json
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from dsr.letters import letter_pdf
from dsr.message_samples import sample_context
context = sample_context("completed", "da")
if {warm!r}:
    from config.celery import worker_warm
    worker_warm()
cpu, wall = time.process_time(), time.perf_counter()
letter_pdf("erasure_confirmation", context, "da")
print(json.dumps({{"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}}))
"""


def _timed(kind: str, language: str, context: dict) -> tuple[float, float, int]:
    cpu, wall = time.process_time(), time.perf_counter()
    size = len(letter_pdf(kind, context, language))
    return time.process_time() - cpu, time.perf_counter() - wall, size


def _first(warm: bool) -> dict:
    code = _FIRST.format(root=str(ROOT), warm=warm)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="warm renders per letter and language (default 15)")
    parser.add_argument("--starts", type=int, default=5, help="fresh processes per first-letter case (default 5)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    print(f"Letters, {args.runs} warm renders each (medians)")
    print(f"  {'letter':<22} {'lang':<4} {'busy CPU':>9} {'wall':>9} {'size':>8}")
    warm_cpu = {}
    for kind in LETTER_KINDS:
        for language in LETTER_LANGUAGES:
            context = sample_context(MESSAGE_OF_LETTER[kind], language)
            _timed(kind, language, context)  # the first render in this process loads the template
            runs = [_timed(kind, language, context) for _ in range(args.runs)]
            cpu = statistics.median(r[0] for r in runs) * 1000
            wall = statistics.median(r[1] for r in runs) * 1000
            warm_cpu[(kind, language)] = cpu
            print(f"  {kind:<22} {language:<4} {cpu:7.1f}ms {wall:7.1f}ms {runs[0][2] // 1024:6d}KB")

    cold = [_first(warm=False) for _ in range(args.starts)]
    warmed = [_first(warm=True) for _ in range(args.starts)]
    cold_wall = statistics.median(r["wall"] for r in cold) * 1000
    first_wall = statistics.median(r["wall"] for r in warmed) * 1000
    first_cpu = statistics.median(r["cpu"] for r in warmed) * 1000
    confirmation = warm_cpu[("erasure_confirmation", "da")]
    print(f"\nFirst erasure confirmation in a fresh process ({args.starts} processes each, medians)")
    print(f"  not warmed:                 {cold_wall:7.1f}ms wall")
    print(f"  after worker_warm (as workers): {first_wall:7.1f}ms wall, {first_cpu:.1f}ms busy CPU")

    ratio = first_cpu / confirmation if confirmation else float("inf")
    load_after = os.getloadavg()[0]
    print(f"\nMachine load (1 min): {load_before:.2f} before, {load_after:.2f} after; {os.cpu_count()} cores")
    met = "met" if confirmation <= TARGET_WARM_CPU_MS else "NOT met"
    print(f"Target: erasure confirmation <= {TARGET_WARM_CPU_MS:.0f} ms busy CPU warm: {confirmation:.1f} ms, {met}")
    met = "met" if ratio <= TARGET_FIRST_RATIO else "NOT met"
    print(f"Target: first letter after start <= {TARGET_FIRST_RATIO}x warm (busy CPU): {ratio:.2f}x, {met}")


if __name__ == "__main__":
    main()
