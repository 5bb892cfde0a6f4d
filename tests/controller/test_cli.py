"""The command line: a bad config stops the controller before it touches a switch; ``show`` reads the socket."""

from __future__ import annotations

import asyncio
import json
import socket

from controller.cli import main
from controller.status import StatusServer, register_router_views, socket_path

from .conftest import HOST_A, ROUTER_TOML


def test_a_bad_config_exits_2_naming_file_line_and_field_and_never_connects(tmp_path, capsys):
    listener = socket.socket()  # a "switch" that would notice a connection attempt
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    bad = tmp_path / "r1.toml"
    bad.write_text(ROUTER_TOML.replace('address = "10.0.2.1/24"', 'address = "10.0.2.1/33"'))
    target = f"127.0.0.1:{listener.getsockname()[1]}"
    code = main(["controller", "--config", str(bad), "--target", target, "--run-dir", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    line = ROUTER_TOML.splitlines().index('address = "10.0.2.1/24"') + 1
    assert f"{bad}:{line}: interface[1].address:" in error
    try:
        listener.accept()
        raise AssertionError("the controller connected to the switch despite a bad config")
    except BlockingIOError:
        pass
    finally:
        listener.close()


def test_show_prints_the_views_a_controller_serves(router, switch, tmp_path, capsys):
    switch.receive(1, HOST_A.arp_request("10.0.1.1"))
    path = socket_path(tmp_path, "127.0.0.1:9559")

    async def serve_and_show() -> list[int]:
        server = StatusServer(path)
        register_router_views(server, router)
        await server.start()
        try:
            codes = []
            for view in ("routes", "arp", "interfaces", "counters"):
                args = ["show", view, "--target", "127.0.0.1:9559", "--run-dir", str(tmp_path)]
                codes.append(await asyncio.to_thread(main, args))
            codes.append(await asyncio.to_thread(main, [*args[:2], "--json", *args[2:]]))
            return codes
        finally:
            await server.stop()

    assert asyncio.run(serve_and_show()) == [0] * 5
    out = capsys.readouterr().out
    for text in (
        "192.168.0.0/16",
        "10.0.2.254",
        "static",
        "10.0.1.10",
        HOST_A.mac,
        "eth2",
        "arp_replies_sent",
    ):
        assert text in out
    counters = json.loads(out[out.index("{") :])
    assert counters["controller"]["arp_replies_sent"] == 1
    assert not path.exists()


def test_show_without_a_controller_says_so(tmp_path, capsys):
    assert main(["show", "routes", "--target", "10.9.9.9:1", "--run-dir", str(tmp_path)]) == 1
    assert "no controller for 10.9.9.9:1" in capsys.readouterr().err
