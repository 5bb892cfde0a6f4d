"""``twinrouter vectors``: regenerate the shared corpus, or check the committed one is current."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sim.vectors import CORPUS_PATH, dump_corpus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help=f"regenerate {CORPUS_PATH.name}")
    action.add_argument(
        "--check", action="store_true", help=f"fail if {CORPUS_PATH.name} differs from the generator's output"
    )
    parser.add_argument("--path", type=Path, default=CORPUS_PATH, help="corpus file (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    # Imported here: the generator pulls in scapy, which is slow to load.
    from sim.vectors.generate import generate

    vectors = generate()
    if args.write:
        dump_corpus(vectors, args.path)
        print(f"wrote {len(vectors)} vectors to {args.path}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "corpus.json"
        dump_corpus(vectors, fresh)
        problem = first_difference(args.path, fresh)
    if problem:
        print(f"{args.path} is stale: {problem}; run `twinrouter vectors --write`", file=sys.stderr)
        return 1
    print(f"{args.path} is current ({len(vectors)} vectors)")
    return 0


def first_difference(committed: Path, fresh: Path) -> str | None:
    """None if the files are identical, else a short description of the first difference."""
    if not committed.exists():
        return "the file does not exist"
    if committed.read_bytes() == fresh.read_bytes():
        return None
    try:
        old = {case["name"]: case for case in json.loads(committed.read_text())["cases"]}
    except (ValueError, KeyError, TypeError) as error:
        return f"it is not a corpus file ({error})"
    new = {case["name"]: case for case in json.loads(fresh.read_text())["cases"]}
    if missing := sorted(new.keys() - old.keys()):
        return f"{len(missing)} case(s) missing, first {missing[0]!r}"
    if extra := sorted(old.keys() - new.keys()):
        return f"{len(extra)} case(s) no longer generated, first {extra[0]!r}"
    changed = [name for name in new if new[name] != old[name]]
    if changed:
        return f"{len(changed)} case(s) changed, first {changed[0]!r}"
    return "same cases, different order or formatting"
