"""The reference model as a P4Runtime switch on Linux interfaces.

``python -m sim.networks.model_switch -i 1@r1-eth1 -i 2@r1-eth2 --grpc 127.0.0.1:9560``
is what ``twinrouter hdl-switch`` is, with :class:`ReferencePipeline` in
place of the gateware: the contract itself forwarding real frames. It
starts in a second, so a network's machinery (Mininet, controllers, OSPF,
ping, traceroute) can be checked without waiting for a Verilator build,
and the HDL and BMv2 networks can be compared with the oracle's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from sim.hdl_target.links import RawSocketLink
from sim.model.codes import DEFAULT_NUM_PORTS
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer

log = logging.getLogger(__name__)


def binding(text: str) -> tuple[int, str]:
    number, sep, ifname = text.partition("@")
    if not sep or not number.isdigit() or not ifname:
        raise argparse.ArgumentTypeError(f"want PORT@INTERFACE (e.g. 1@veth1), got {text!r}")
    return int(number), ifname


async def serve(bindings: list[tuple[int, str]], address: str, num_ports: int) -> None:
    dataplane = ModelDataPlane(num_ports)
    links = {port: RawSocketLink(ifname) for port, ifname in bindings}
    server = P4RuntimeServer(dataplane)

    async def port_in(port: int, link: RawSocketLink) -> None:
        while True:
            dataplane.receive(port, await link.recv())

    async def port_out(port: int, link: RawSocketLink) -> None:
        while True:
            frame = await dataplane.egress[port].get()
            try:
                await link.send(frame)
            except OSError as error:  # the link is down: the frame is lost, as on a cut cable
                log.debug("port %d: %s", port, error)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(port_in(p, link)) for p, link in links.items()]
    tasks += [asyncio.create_task(port_out(p, link)) for p, link in links.items()]
    await server.start(address)
    log.info("model switch: ports %s, P4Runtime on %s", dict(bindings), address)
    try:
        await stop.wait()
    finally:
        await server.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for link in links.values():
            link.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.networks.model_switch", description=__doc__.splitlines()[0]
    )
    parser.add_argument("-i", "--interface", dest="bindings", action="append", type=binding, default=[])
    parser.add_argument("--grpc", default="127.0.0.1:9559")
    parser.add_argument("--num-ports", type=int, default=DEFAULT_NUM_PORTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for port, _ in args.bindings:
        if not 1 <= port <= args.num_ports:
            parser.error(f"port {port} is not a front port 1..{args.num_ports}")
    asyncio.run(serve(args.bindings, args.grpc, args.num_ports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
