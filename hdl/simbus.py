"""Management-bus initiators for simulators, behind the driver's ``read``/``write`` interface.

:class:`AmaranthSimBus` drives a :class:`~hdl.mgmt.MgmtSignature` port from
an Amaranth testbench, :class:`CocotbBus` from a cocotb test on the generated
Verilog (signals ``<prefix>adr``, ``<prefix>we`` ...). Both give
:class:`hdl.driver.CoreDriver` the same two coroutines.
"""

from __future__ import annotations

from typing import Any


class AmaranthSimBus:
    """The bus seen from an Amaranth ``add_testbench`` coroutine's ``ctx``."""

    def __init__(self, ctx: Any, bus: Any):
        self.ctx = ctx
        self.bus = bus

    async def _access(self, address: int, we: int, data: int) -> int:
        ctx, bus = self.ctx, self.bus
        ctx.set(bus.adr, address)
        ctx.set(bus.we, we)
        ctx.set(bus.dat_w, data)
        ctx.set(bus.stb, 1)
        (value,) = await ctx.tick().sample(bus.dat_r).until(bus.ack)
        ctx.set(bus.stb, 0)
        return value

    async def read(self, address: int) -> int:
        return await self._access(address, 0, 0)

    async def write(self, address: int, data: int) -> None:
        await self._access(address, 1, data)


class CocotbBus:
    """The bus of a cocotb DUT whose management ports are named ``prefix + member``."""

    def __init__(self, dut: Any, clock: Any, prefix: str = "mgmt__"):
        self.clock = clock
        self.signals = {
            name: getattr(dut, prefix + name) for name in ("adr", "we", "dat_w", "stb", "ack", "dat_r")
        }
        self.signals["stb"].value = 0

    async def _access(self, address: int, we: int, data: int) -> int:
        from cocotb.triggers import ReadOnly, RisingEdge

        s = self.signals
        s["adr"].value = address
        s["we"].value = we
        s["dat_w"].value = data
        s["stb"].value = 1
        while True:
            await RisingEdge(self.clock)
            await ReadOnly()
            if s["ack"].value:
                value = int(s["dat_r"].value)
                break
        await RisingEdge(self.clock)
        s["stb"].value = 0
        return value

    async def read(self, address: int) -> int:
        return await self._access(address, 0, 0)

    async def write(self, address: int, data: int) -> None:
        await self._access(address, 1, data)
