"""The BMv2 harness's own logic that needs no switch: what it can inject, how it reads counters."""

from __future__ import annotations

from sim.bmv2 import Observation, counters_delta, delivery_problem, injection_problem
from sim.model import CPU_PORT, Drop, DropReason, Forward, PuntReason
from sim.model.outcome import Counters, CounterValue


def test_left_out_vectors_are_all_truncated_drops(corpus):
    # The corpus run leaves out what BMv2 cannot be handed at all: that must never hide anything but runts.
    left_out = [v for v in corpus if injection_problem(v.frame, v.ingress_port, dataplane_grpc=True)]
    assert all(not v.frame and v.expected == Drop(DropReason.TRUNCATED) for v in left_out), [
        v.name for v in left_out
    ]


def test_injection_limits():
    assert injection_problem(b"\x00" * 13, 1) is not None
    assert injection_problem(b"\x00" * 14, 1) is None
    assert injection_problem(b"\x00", CPU_PORT) is not None
    assert injection_problem(b"\x00\x01", CPU_PORT) is None
    assert injection_problem(b"\x00", 1, dataplane_grpc=True) is None
    assert injection_problem(b"\x00", CPU_PORT, dataplane_grpc=True) is None
    assert injection_problem(b"", 1, dataplane_grpc=True) is not None


def test_counters_delta_keeps_only_what_moved():
    before = Counters(rx_port={1: CounterValue(3, 300)}, drops={DropReason.TRUNCATED: CounterValue(1, 10)})
    after = Counters(
        rx_port={1: CounterValue(4, 360), 2: CounterValue(1, 50)},
        drops={DropReason.TRUNCATED: CounterValue(1, 10)},
        punts={PuntReason.ARP: CounterValue(1, 60)},
    )
    assert counters_delta(before, after) == Counters(
        rx_port={1: CounterValue(1, 60), 2: CounterValue(1, 50)}, punts={PuntReason.ARP: CounterValue(1, 60)}
    )


def test_observation_needs_exactly_one_event():
    drop = Counters(drops={DropReason.NOT_FOR_US: CounterValue(1, 60)})
    assert Observation(counters=drop).outcome() == Drop(DropReason.NOT_FOR_US)
    assert Observation().outcome() is None
    two = Observation(forwarded=[Forward(1, b"a"), Forward(2, b"a")])
    assert two.outcome() is None
    assert Observation(forwarded=[Forward(1, b"a")], counters=drop).outcome() is None


def test_delivery_limits():
    assert delivery_problem(Forward(4, b"\x02" * 6)) is not None
    assert delivery_problem(Forward(4, b"\x02" * 14)) is None
    assert delivery_problem(Drop(DropReason.TRUNCATED)) is None
