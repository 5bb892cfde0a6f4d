"""``twinrouter``: the one command that fronts every user-facing job.

Each subcommand lives in its own module, which provides
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported
only when their subcommand runs, so ``twinrouter --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

#: subcommand -> (module, one-line help). Add a line here to add a subcommand.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "vectors": ("sim.vectors.cli", "regenerate or check the shared test-vector corpus"),
    "synth": ("hdl.boards.synth", "build an ECP5 board's bitstream (yowasp) and report utilization and Fmax"),
    "controller": ("controller.service", "run a router's control plane against a P4Runtime switch"),
    "show": ("controller.show", "show a running controller's routes, ARP, interfaces or counters"),
    "hdl-switch": (
        "sim.hdl_target.switch",
        "run the HDL router (Verilated) as a P4Runtime switch on Linux interfaces",
    ),
    "demo": (
        "sim.networks.demo",
        "a Mininet network of twinrouters: OSPF, ping, traceroute, a link cut rerouted",
    ),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``chosen`` subcommand's module is imported."""
    parser = argparse.ArgumentParser(prog="twinrouter", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        if name == chosen:
            importlib.import_module(module_name).add_arguments(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in arguments if a in SUBCOMMANDS), None)
    args = build_parser(chosen).parse_args(arguments)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
