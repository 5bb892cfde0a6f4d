"""The router core with its management channel: what a board or the simulated switch runs."""

from __future__ import annotations

from collections.abc import Callable

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sim.hdl_target.mgmt_protocol import DeviceInfo

from .core import BLOCK_SELECT_BITS, RouterCore, default_lpm
from .mac.width import ByteNarrower, ByteWidener
from .mgmt_channel import MgmtChannel
from .stream import packet_signature

DEFAULT_DEVICE_MAC = 0x02_54_57_00_00_01  # locally administered ("TW")


class ManagedRouter(wiring.Component):
    """A :class:`RouterCore` whose CPU port and management bus are reached in band.

    Members
    -------
    rx, tx : front ports 1..``num_ports`` (packet streams, ``width`` bytes).
    mgmt_rx, mgmt_tx : the management port (byte streams) speaking the
        0x88B5 protocol (docs/management-protocol.md): management-bus access
        for the host's driver, and the CPU port as PACKET_OUT / PACKET_IN.

    Latency and backpressure: those of :class:`RouterCore` on the front ports
    and of :class:`MgmtChannel` on the management port; between the two, the
    CPU port goes through one width converter each way (1 cycle each).
    """

    def __init__(
        self,
        *,
        num_ports: int = 4,
        width: int = 8,
        device_mac: int = DEFAULT_DEVICE_MAC,
        lpm: Callable[[], wiring.Component] = default_lpm,
        lpm_capacity: int | None = None,
        **core_options,
    ):
        self.core = RouterCore(num_ports=num_ports, width=width, lpm=lpm, **core_options)
        capacity = lpm_capacity
        if capacity is None:
            geometry = getattr(self.core.lpm, "geometry", None)
            capacity = geometry.guaranteed_prefixes if geometry is not None else 0
        self.info = DeviceInfo(
            num_ports=num_ports,
            datapath_bytes=width,
            capacities={
                "ingress.local_ip": self.core.local_ip.capacity,
                "ingress.arp": self.core.arp.capacity,
                "ingress.ipv4_lpm": capacity,
            },
        )
        self.channel = MgmtChannel(
            addr_width=BLOCK_SELECT_BITS + self.core.block_bits,
            device_mac=device_mac,
            info=self.info.encode(),
            packet_in_bytes=1 << (self.core.max_frame + 3).bit_length(),
        )
        super().__init__(
            {
                "rx": In(packet_signature(width)).array(num_ports),
                "tx": Out(packet_signature(width)).array(num_ports),
                "mgmt_rx": In(packet_signature(1)),
                "mgmt_tx": Out(packet_signature(1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        core, channel = self.core, self.channel
        n = core.num_ports
        m.submodules.core = core
        m.submodules.channel = channel
        m.submodules.to_cpu_port = widener = ByteWidener(core.width)
        m.submodules.from_cpu_port = narrower = ByteNarrower(core.width)

        for index in range(n):
            wiring.connect(m, wiring.flipped(self.rx[index]), core.rx[index])
            wiring.connect(m, core.tx[index], wiring.flipped(self.tx[index]))
        wiring.connect(m, wiring.flipped(self.mgmt_rx), channel.rx)
        wiring.connect(m, channel.tx, wiring.flipped(self.mgmt_tx))
        wiring.connect(m, channel.bus, core.mgmt)

        # PACKET_OUT bodies into the CPU port, CPU-port frames out as PACKET_IN.
        cpu_out, cpu_in = channel.cpu_out, channel.cpu_in
        m.d.comb += [
            widener.i.valid.eq(cpu_out.valid),
            widener.i.payload.data.eq(cpu_out.payload.data),
            widener.i.payload.last.eq(cpu_out.payload.last),
            cpu_out.ready.eq(widener.i.ready),
            cpu_in.valid.eq(narrower.o.valid),
            cpu_in.payload.data.eq(narrower.o.payload.data),
            cpu_in.payload.keep.eq(1),
            cpu_in.payload.last.eq(narrower.o.payload.last),
            narrower.o.ready.eq(cpu_in.ready),
        ]
        wiring.connect(m, widener.o, core.rx[n])
        wiring.connect(m, core.tx[n], narrower.i)
        return m
