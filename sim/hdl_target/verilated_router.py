"""The managed router core compiled with Verilator, exchanging whole frames over pipes.

The Amaranth simulator runs the whole router at about a thousand cycles a
second, too slow for a network of several routers. So the switch process
converts :class:`hdl.managed_router.ManagedRouter` to Verilog, compiles it
with Verilator and a small C++ harness, and talks to that program over its
stdin/stdout with length-prefixed frames::

    port u8 | length u16 (big-endian) | frame

Port 0 is the management port (0x88B5 frames); 1..N are the front ports.
The harness feeds each input frame into its port's stream one beat per
cycle, always accepts output beats, and writes every finished output frame
back. When no frame has moved for ``IDLE_CYCLES`` cycles it blocks on its
input, so an idle router costs no CPU.

Builds are cached under ``~/.cache/twinrouter/verilated`` by a hash of the
Verilog and the harness, so only the first run of a configuration pays
for the conversion and the compile (a few minutes on two cores).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "twinrouter" / "verilated"
IDLE_CYCLES = 20_000
TOP = "managed_router"


@dataclass(frozen=True)
class RouterBuild:
    """A configuration of the router to compile."""

    num_ports: int = 4
    width: int = 8
    max_frame: int = 9216
    lpm_direct_bits: int = 12
    lpm_slot_bits: int = 12
    lpm_action_bits: int = 6
    arp_rows: int = 64
    local_ip_rows: int = 16

    def elaboratable(self):
        from hdl.lpm.engine import LpmEngine
        from hdl.lpm.geometry import LpmGeometry
        from hdl.managed_router import ManagedRouter

        geometry = LpmGeometry(
            direct_bits=self.lpm_direct_bits, slot_bits=self.lpm_slot_bits, action_bits=self.lpm_action_bits
        )
        return ManagedRouter(
            num_ports=self.num_ports,
            width=self.width,
            lpm=lambda: LpmEngine(geometry),
            max_frame=self.max_frame,
            arp_rows=self.arp_rows,
            local_ip_rows=self.local_ip_rows,
        )

    def lpm_geometry(self):
        from hdl.lpm.geometry import LpmGeometry

        return LpmGeometry(
            direct_bits=self.lpm_direct_bits, slot_bits=self.lpm_slot_bits, action_bits=self.lpm_action_bits
        )


def harness_source(build: RouterBuild) -> str:
    """The C++ main loop for ``build``'s port names and widths."""
    ports = [("mgmt_rx", "mgmt_tx", 1)] + [
        (f"rx__{i}", f"tx__{i}", build.width) for i in range(build.num_ports)
    ]
    lines = []
    for index, (rx_name, tx_name, width) in enumerate(ports):
        # Verilator escapes "__" in identifiers as "___05F".
        rx, tx = (name.replace("__", "___05F") + "___05F" for name in (rx_name, tx_name))
        lines.append(
            f"  ports.push_back(Port{{{index}, {width}, "
            f"[](Vtop* t, const Beat& b) {{ put_beat(t->{rx}payload, b, {width}); }}, "
            f"[](Vtop* t, bool v) {{ t->{rx}valid = v; }}, "
            f"[](Vtop* t) {{ return (bool)t->{rx}ready; }}, "
            f"[](Vtop* t) {{ return get_beat(t->{tx}payload, {width}); }}, "
            f"[](Vtop* t) {{ return (bool)t->{tx}valid; }}, "
            f"[](Vtop* t, bool r) {{ t->{tx}ready = r; }}}});"
        )
    return _HARNESS.replace("@PORTS@", "\n".join(lines)).replace("@IDLE@", str(IDLE_CYCLES))


def build_binary(build: RouterBuild) -> Path:
    """Compile (or find in the cache) the Verilated router for ``build``; returns the executable."""
    from amaranth.back import verilog

    from hdl.toolchain import use_yowasp, verilate

    key = hashlib.sha256(repr(build).encode() + _sources_digest()).hexdigest()[:16]
    folder = CACHE / key
    binary = folder / "obj" / "Vrouter"
    if binary.exists():
        return binary
    use_yowasp()
    log.info("building the Verilated router %s (first time only: a few minutes)", build)
    source = verilog.convert(build.elaboratable(), name=TOP)
    return verilate(folder, source, harness_source(build), top=TOP, prefix="Vtop", binary="Vrouter")


def _sources_digest() -> bytes:
    """A hash of the HDL sources the managed router is built from, so a changed pipeline is rebuilt."""
    root = Path(__file__).resolve().parents[2]
    hdl = root / "hdl"
    sources = [
        *hdl.glob("*.py"),
        *(hdl / "lpm").glob("*.py"),
        hdl / "mac" / "width.py",
        hdl / "mac" / "layout.py",
    ]
    sources += [
        root / "sim" / "model" / "codes.py",
        root / "sim" / "hdl_target" / "mgmt_protocol.py",
        Path(__file__),
    ]
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(path.read_bytes())
    return digest.digest()


class VerilatedRouter:
    """A running Verilated router: :meth:`send` frames to a port, :meth:`receive` what comes out."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self._write_lock = asyncio.Lock()

    @classmethod
    async def start(cls, build: RouterBuild, binary: Path | None = None) -> VerilatedRouter:
        """Run ``build`` (``binary``: an executable :func:`build_binary` already made for it)."""
        if binary is None:
            binary = await asyncio.to_thread(build_binary, build)
        process = await asyncio.create_subprocess_exec(
            str(binary), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        return cls(process)

    async def send(self, port: int, frame: bytes) -> None:
        if not 0 <= port < 256 or len(frame) >= 1 << 16:
            raise ValueError(f"cannot send a {len(frame)}-byte frame to port {port}")
        assert self.process.stdin is not None
        async with self._write_lock:
            self.process.stdin.write(bytes([port]) + len(frame).to_bytes(2, "big") + frame)
            await self.process.stdin.drain()

    async def receive(self) -> tuple[int, bytes]:
        """The next frame out of the router, as (port, frame); port 0 is the management port."""
        assert self.process.stdout is not None
        header = await self.process.stdout.readexactly(3)
        frame = await self.process.stdout.readexactly(int.from_bytes(header[1:], "big"))
        return header[0], frame

    async def stop(self) -> None:
        if self.process.returncode is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 2)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


_HARNESS = r"""
// Generated by sim/hdl_target/verilated_router.py: runs the Verilated router,
// frames in on stdin and out on stdout as  port u8 | length u16 BE | bytes.
#include "Vtop.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <poll.h>
#include <unistd.h>
#include <vector>
#include <fcntl.h>
#include <errno.h>

struct Beat { uint8_t data[16]; unsigned keep; bool first, last; };

template <typename T> static void put_bits(T& sig, int lsb, int width, uint64_t v) {
    T mask = width >= 64 ? ~(T)0 : (T)(((uint64_t)1 << width) - 1);
    sig = (sig & ~(mask << lsb)) | (((T)v & mask) << lsb);
}
template <std::size_t N> static void put_bits(VlWide<N>& sig, int lsb, int width, uint64_t v) {
    for (int i = 0; i < width; i++) {
        int bit = lsb + i, word = bit / 32, off = bit % 32;
        sig[word] = (sig[word] & ~(1u << off)) | ((uint32_t)((v >> i) & 1) << off);
    }
}
template <typename T> static uint64_t get_bits(const T& sig, int lsb, int width) {
    return ((uint64_t)sig >> lsb) & (width >= 64 ? ~0ull : ((1ull << width) - 1));
}
template <std::size_t N> static uint64_t get_bits(const VlWide<N>& sig, int lsb, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; i++) {
        int bit = lsb + i;
        v |= (uint64_t)((sig[bit / 32] >> (bit % 32)) & 1) << i;
    }
    return v;
}
// Payload layout: data (8*W bits), keep (W), first, last, from bit 0 up.
template <typename T> static void put_beat(T& sig, const Beat& b, int w) {
    for (int i = 0; i < w; i++) put_bits(sig, 8 * i, 8, b.data[i]);
    put_bits(sig, 8 * w, w, b.keep);
    put_bits(sig, 9 * w, 1, b.first);
    put_bits(sig, 9 * w + 1, 1, b.last);
}
template <typename T> static Beat get_beat(const T& sig, int w) {
    Beat b{};
    for (int i = 0; i < w; i++) b.data[i] = (uint8_t)get_bits(sig, 8 * i, 8);
    b.keep = (unsigned)get_bits(sig, 8 * w, w);
    b.first = get_bits(sig, 9 * w, 1);
    b.last = get_bits(sig, 9 * w + 1, 1);
    return b;
}

struct Port {
    int number, width;
    std::function<void(Vtop*, const Beat&)> set_rx;
    std::function<void(Vtop*, bool)> set_rx_valid;
    std::function<bool(Vtop*)> rx_ready;
    std::function<Beat(Vtop*)> tx;
    std::function<bool(Vtop*)> tx_valid;
    std::function<void(Vtop*, bool)> set_tx_ready;
    std::deque<std::vector<uint8_t>> pending;
    size_t offset = 0;
    std::vector<uint8_t> out;
};

static std::vector<uint8_t> inbuf;
static std::vector<uint8_t> outbuf;

static bool read_input(bool block, std::vector<Port>& ports) {
    struct pollfd p = {0, POLLIN, 0};
    if (poll(&p, 1, block ? -1 : 0) <= 0) return true;
    uint8_t chunk[65536];
    ssize_t n = read(0, chunk, sizeof chunk);
    if (n == 0) return false;  // the switch process closed our input: stop
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    inbuf.insert(inbuf.end(), chunk, chunk + n);
    size_t at = 0;
    while (inbuf.size() - at >= 3) {
        size_t len = ((size_t)inbuf[at + 1] << 8) | inbuf[at + 2];
        if (inbuf.size() - at - 3 < len) break;
        unsigned port = inbuf[at];
        if (port < ports.size())
            ports[port].pending.emplace_back(inbuf.begin() + at + 3, inbuf.begin() + at + 3 + len);
        at += 3 + len;
    }
    inbuf.erase(inbuf.begin(), inbuf.begin() + at);
    return true;
}

static void flush_output() {
    size_t at = 0;
    while (at < outbuf.size()) {
        ssize_t n = write(1, outbuf.data() + at, outbuf.size() - at);
        if (n <= 0) { if (errno == EINTR) continue; _exit(0); }
        at += n;
    }
    outbuf.clear();
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    Vtop* top = new Vtop;
    std::vector<Port> ports;
@PORTS@
    top->rst = 1; top->clk = 0; top->eval();
    for (int i = 0; i < 4; i++) { top->clk = 1; top->eval(); top->clk = 0; top->eval(); }
    top->rst = 0;
    for (auto& p : ports) p.set_tx_ready(top, true);
    uint64_t idle = 0;
    for (;;) {
        bool busy = false;
        for (auto& p : ports) busy |= !p.pending.empty() || !p.out.empty();
        if (!read_input(!busy && idle >= @IDLE@, ports)) break;
        // Drive this cycle's input beats.
        for (auto& p : ports) {
            if (p.pending.empty()) { p.set_rx_valid(top, false); continue; }
            const auto& f = p.pending.front();
            Beat b{};
            size_t n = f.size() - p.offset < (size_t)p.width ? f.size() - p.offset : p.width;
            for (size_t i = 0; i < n; i++) b.data[i] = f[p.offset + i];
            b.keep = n >= 32 ? ~0u : ((1u << n) - 1);
            b.first = p.offset == 0;
            b.last = p.offset + n >= f.size();
            p.set_rx(top, b);
            p.set_rx_valid(top, true);
        }
        top->eval();
        // Sample the handshakes before the edge.
        bool moved = false;
        std::vector<bool> took(ports.size()), gave(ports.size());
        std::vector<Beat> beats(ports.size());
        for (size_t i = 0; i < ports.size(); i++) {
            auto& p = ports[i];
            took[i] = !p.pending.empty() && p.rx_ready(top);
            gave[i] = p.tx_valid(top);
            if (gave[i]) beats[i] = p.tx(top);
        }
        top->clk = 1; top->eval();
        top->clk = 0; top->eval();
        for (size_t i = 0; i < ports.size(); i++) {
            auto& p = ports[i];
            if (took[i]) {
                moved = true;
                p.offset += p.width;
                if (p.offset >= p.pending.front().size()) { p.pending.pop_front(); p.offset = 0; }
            }
            if (gave[i]) {
                moved = true;
                const Beat& b = beats[i];
                for (int k = 0; k < p.width; k++) if (b.keep & (1u << k)) p.out.push_back(b.data[k]);
                if (b.last) {
                    outbuf.push_back((uint8_t)p.number);
                    outbuf.push_back((uint8_t)(p.out.size() >> 8));
                    outbuf.push_back((uint8_t)p.out.size());
                    outbuf.insert(outbuf.end(), p.out.begin(), p.out.end());
                    p.out.clear();
                }
            }
        }
        if (!outbuf.empty()) flush_output();
        idle = moved ? 0 : idle + 1;
    }
    top->final();
    delete top;
    return 0;
}
"""
