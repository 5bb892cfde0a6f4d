"""sim/netns.py: namespaces and veth pairs appear, carry frames, and always go away."""

from __future__ import annotations

import os
import select
import subprocess

import pytest

from sim.netns import PACKET_OUTGOING, NetnsError, NetnsLab

pytestmark = pytest.mark.network


def namespaces() -> set[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


@pytest.fixture(autouse=True)
def _root() -> None:
    if os.geteuid() != 0:
        pytest.fail("network namespace tests need root; run the tests as root")


def test_a_frame_crosses_a_veth_pair_between_namespaces() -> None:
    with NetnsLab("trnetns") as lab:
        a, b = lab.namespace("a"), lab.namespace("b")
        lab.veth(a, "va", b, "vb", a_mac="02:00:00:00:00:0a", mtu=9000)
        assert "02:00:00:00:00:0a" in a.ip("link", "show", "va")
        assert "mtu 9000" in b.ip("link", "show", "vb")
        sender, receiver = a.packet_socket("va"), b.packet_socket("vb")
        try:
            frame = bytes.fromhex("ffffffffffff02000000000a88b5") + b"netns test"
            sender.send(frame)
            assert select.select([receiver], [], [], 2.0)[0], "nothing arrived"
            received, address = receiver.recvfrom(65535)
            assert received == frame and address[2] != PACKET_OUTGOING
        finally:
            sender.close()
            receiver.close()


def test_everything_is_deleted_even_when_the_block_fails() -> None:
    created = set()
    with pytest.raises(RuntimeError, match="boom"), NetnsLab("trnetns") as lab:
        a, b = lab.namespace(), lab.namespace()
        lab.veth(a, "x", b, "y")
        created = {a.name, b.name}
        assert created <= namespaces()
        raise RuntimeError("boom")
    assert created and not created & namespaces()


def test_bad_requests_get_clear_errors() -> None:
    with NetnsLab("trnetns") as lab:
        a = lab.namespace()
        with pytest.raises(ValueError, match=r"1\.\.15 characters"):
            lab.veth(a, "a-name-that-is-too-long", a, "b")
        with pytest.raises(NetnsError, match="no-such-device"):
            a.ip("link", "set", "no-such-device", "up")
