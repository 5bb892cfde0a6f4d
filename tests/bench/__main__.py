"""``make bench``: runs every benchmark module in this folder and prints its figures.

A benchmark is a module ``tests/bench/bench_<name>.py`` with a function
``main() -> None`` that prints its results (and is documented in
docs/benchmarks.md). ``python -m tests.bench NAME…`` runs only those.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    failed = []
    for name in names:
        print(f"\n=== bench {name} ===", flush=True)
        start = time.monotonic()
        try:
            importlib.import_module(f"tests.bench.bench_{name}").main()
        except Exception as exc:  # one broken benchmark must not hide the others
            failed.append(name)
            print(f"bench {name} FAILED: {exc!r}", flush=True)
        print(f"=== {name}: {time.monotonic() - start:.1f} s ===", flush=True)
    if failed:
        print(f"\nfailed benchmarks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
