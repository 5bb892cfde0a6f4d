"""Network namespaces and veth pairs for tests, with guaranteed cleanup.

A :class:`NetnsLab` creates uniquely named namespaces (``<label>-<pid>-<n>``)
and veth pairs between them, and deletes every namespace it created when
the ``with`` block ends, however it ends. Deleting a namespace destroys the
interfaces inside it, so nothing is left behind in the caller's namespace
(veth ends are created directly in their namespaces, never in the root one).

Sockets can be opened inside a namespace without a helper process:
:meth:`Namespace.packet_socket` switches the calling thread into the
namespace (``setns``), opens the socket, and switches back; the socket
stays bound to the namespace it was created in.

Everything here needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

log = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
#: ``sll_pkttype`` of a frame this host sent (a packet socket sees its own transmissions).
PACKET_OUTGOING = 4
IFNAMSIZ = 15

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    """A namespace or link command failed; the message has the command and its stderr."""


def require_root(what: str) -> None:
    """Raise PermissionError with a clear message unless running as root."""
    if os.geteuid() != 0:
        raise PermissionError(f"{what} needs root (it creates network namespaces); run it as root")


def run(command: Sequence[str], stdin: str | None = None) -> str:
    result = subprocess.run(list(command), input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetnsError(f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@dataclass(frozen=True)
class Namespace:
    """A named network namespace (``ip netns``)."""

    name: str

    def ip(self, *args: str) -> str:
        """Run ``ip -n <name> ARGS``."""
        return run(["ip", "-n", self.name, *args])

    def ip_batch(self, commands: Sequence[str]) -> None:
        """Run many ``ip`` commands (one per line, without the leading ``ip``) in one process."""
        if commands:
            run(["ip", "-n", self.name, "-batch", "-"], stdin="\n".join(commands) + "\n")

    def sysctl(self, settings: dict[str, str | int]) -> None:
        """Set sysctls (``net.ipv4.ip_forward`` style keys) inside the namespace."""
        pairs = [f"{key}={value}" for key, value in settings.items()]
        run(["ip", "netns", "exec", self.name, "sysctl", "-q", "-w", *pairs])

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the block with the calling thread inside this namespace."""
        with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{self.name}") as target:
            _setns(target.fileno())
            try:
                yield
            finally:
                _setns(home.fileno())

    def packet_socket(self, interface: str) -> socket.socket:
        """A raw AF_PACKET socket bound to ``interface`` in this namespace, all EtherTypes."""
        with self.entered():
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            try:
                sock.bind((interface, ETH_P_ALL))
            except OSError:
                sock.close()
                raise
        return sock


@dataclass(frozen=True)
class VethPair:
    """Two connected veth ends, each in its namespace."""

    a: Namespace
    a_name: str
    b: Namespace
    b_name: str


class NetnsLab(contextlib.AbstractContextManager["NetnsLab"]):
    """Creates namespaces and veth pairs; deletes every namespace it created on exit."""

    def __init__(self, label: str) -> None:
        require_root("NetnsLab")
        self.label = f"{label}-{os.getpid()}"
        self._counter = itertools.count()
        self._created: list[Namespace] = []

    def namespace(self, role: str = "") -> Namespace:
        """A fresh namespace with its loopback up."""
        suffix = f"{next(self._counter)}{'-' + role if role else ''}"
        ns = Namespace(f"{self.label}-{suffix}")
        run(["ip", "netns", "add", ns.name])
        self._created.append(ns)
        ns.ip("link", "set", "lo", "up")
        return ns

    def veth(
        self,
        a: Namespace,
        a_name: str,
        b: Namespace,
        b_name: str,
        *,
        a_mac: str | None = None,
        b_mac: str | None = None,
        mtu: int | None = None,
    ) -> VethPair:
        """A veth pair from ``a_name`` in ``a`` to ``b_name`` in ``b``, both ends up."""
        for name in (a_name, b_name):
            if not 0 < len(name) <= IFNAMSIZ:
                raise ValueError(f"interface name {name!r} must be 1..{IFNAMSIZ} characters")
        end_a = [a_name, "netns", a.name, *(["address", a_mac] if a_mac else [])]
        end_b = [b_name, "netns", b.name, *(["address", b_mac] if b_mac else [])]
        mtu_args = ["mtu", str(mtu)] if mtu else []
        run(["ip", "link", "add", *end_a, *mtu_args, "type", "veth", "peer", "name", *end_b, *mtu_args])
        a.ip("link", "set", a_name, "up")
        b.ip("link", "set", b_name, "up")
        return VethPair(a, a_name, b, b_name)

    def close(self) -> None:
        """Delete every namespace created here (all of them are tried; errors are raised after)."""
        failures = []
        while self._created:
            ns = self._created.pop()
            try:
                run(["ip", "netns", "del", ns.name])
            except NetnsError as error:
                log.error("could not delete namespace %s: %s", ns.name, error)
                failures.append(str(error))
        if failures:
            raise NetnsError("; ".join(failures))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
