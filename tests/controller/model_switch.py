"""The reference model standing in for the switch, so controller tests run on the oracle.

What the controller installs becomes a :class:`TableState`, frames go through
:class:`ReferencePipeline`, punts go to the controller, and the controller's
packet-outs go through the pipeline's CPU-port path: every frame a test sees
on a port is one the contract says the switch would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.intent import ChangeSet, Entries, apply_changes, table_state_of
from controller.router import Router
from sim.model import CPU_PORT, Drop, Forward, Outcome, Punt, ReferencePipeline


@dataclass
class ModelSwitch:
    num_ports: int = 4
    entries: Entries = field(default_factory=dict)
    change_sets: list[dict] = field(default_factory=list)
    #: (port, frame) for every frame the switch put on a front-panel port, in order.
    wire: list[tuple[int, bytes]] = field(default_factory=list)
    router: Router | None = None

    # --- the Dataplane protocol -------------------------------------------------

    def send_packet(self, port: int, frame: bytes) -> None:
        outcome = self.pipeline().process(port.to_bytes(2, "big") + frame, CPU_PORT)
        assert isinstance(outcome, Forward), f"packet-out to port {port} was {outcome}"
        self.wire.append((outcome.port, outcome.frame))

    def change(self, changes: ChangeSet) -> None:
        assert changes, "an empty change set is a wasted write"
        self.change_sets.append(dict(changes))
        apply_changes(self.entries, changes)

    # --- driving it --------------------------------------------------------------

    def pipeline(self) -> ReferencePipeline:
        return ReferencePipeline(table_state_of(self.entries, self.num_ports))

    def receive(self, port: int, frame: bytes) -> Outcome:
        """A frame arrives on ``port``: forward it, drop it, or punt it to the router."""
        outcome = self.pipeline().process(frame, port)
        if isinstance(outcome, Forward):
            self.wire.append((outcome.port, outcome.frame))
        elif isinstance(outcome, Punt):
            assert self.router is not None
            self.router.handle_packet_in(outcome.ingress_port, outcome.reason, outcome.frame)
        else:
            assert isinstance(outcome, Drop)
        return outcome

    def take_wire(self) -> list[tuple[int, bytes]]:
        frames, self.wire = self.wire, []
        return frames
