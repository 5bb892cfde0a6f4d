"""Round-robin arbitration and the crossbar from the input ports to the output queues."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .rewrite import edited_layout
from .stream import check_width


def round_robin(m: Module, requests: list, last: Signal, name: str) -> tuple[Signal, Signal]:
    """The first requester after ``last`` (cyclically), and whether any requests."""
    count = len(requests)
    grant = Signal(range(max(count, 2)), name=f"{name}_grant")
    with m.Switch(last):
        for previous in range(count):
            with m.Case(previous):
                # Lowest priority first, so the highest-priority request is assigned last.
                for step in reversed(range(1, count + 1)):
                    index = (previous + step) % count
                    with m.If(requests[index]):
                        m.d.comb += grant.eq(index)
    return grant, Cat(*requests).any()


class Crossbar(wiring.Component):
    """Moves whole frames from ``inputs`` edited streams to ``outputs`` queues by ``sideband.dest``.

    Each output has its own round-robin arbiter over the inputs whose next
    frame is for it; a granted input keeps the output until its last beat.

    Latency: 0 cycles (combinational). Throughput: every output can take a
    beat per cycle, and a new frame can start in the cycle after the last
    beat of the previous one (no bubble: the grant is decided combinationally
    when the output is idle). Backpressure: an input waits while its output
    is busy with another input or not ready; inputs for different outputs
    never wait on each other.
    """

    def __init__(self, *, width: int, inputs: int, outputs: int):
        check_width(width)
        if not isinstance(inputs, int) or not 1 <= inputs <= 255:
            raise ValueError(f"inputs must be 1..255, not {inputs!r}")
        if not isinstance(outputs, int) or not 1 <= outputs <= 255:
            raise ValueError(f"outputs must be 1..255, not {outputs!r}")
        self.width = width
        self.inputs = inputs
        self.outputs = outputs
        signature = stream.Signature(edited_layout(width))
        super().__init__({"i": In(signature).array(inputs), "o": Out(signature).array(outputs)})

    def elaborate(self, platform):
        m = Module()
        taken = [[] for _ in range(self.inputs)]  # per input: "output j reads me this cycle"
        for j, out in enumerate(self.o):
            busy = Signal(name=f"busy{j}")
            owner = Signal(range(max(self.inputs, 2)), name=f"owner{j}")
            requests = [
                port.valid & port.payload.beat.first & (port.payload.sideband.dest == j) for port in self.i
            ]
            grant, any_request = round_robin(m, requests, owner, f"out{j}")
            select = Signal.like(owner, name=f"select{j}")
            m.d.comb += select.eq(grant)
            with m.If(busy):
                m.d.comb += select.eq(owner)
            active = busy | any_request
            for k, port in enumerate(self.i):
                chosen = active & (select == k)
                with m.If(chosen):
                    m.d.comb += [out.valid.eq(port.valid), out.payload.eq(port.payload)]
                reading = Signal(name=f"out{j}_reads{k}")
                m.d.comb += reading.eq(chosen & out.ready)
                taken[k].append(reading)
            with m.If(out.valid & out.ready):
                m.d.sync += [busy.eq(~out.payload.beat.last), owner.eq(select)]
        for port, readers in zip(self.i, taken, strict=True):
            m.d.comb += port.ready.eq(Cat(*readers).any())
        return m
