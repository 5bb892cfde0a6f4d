"""The P4Runtime surface a target implements: tables, actions, counters, packet metadata.

A target declares what its hardware really has — names, match kinds, widths
and capacities — as a :class:`PipelineSurface`. When a client pushes a P4Info,
:func:`compare` lists every way the two differ, so the server can refuse a
program the hardware cannot run and say exactly why. IDs are not part of the
surface: they come from the accepted P4Info.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from finsy.proto.p4.config.v1 import p4info_pb2

from sim.model.codes import DROP_COUNTER_SIZE, PORT_BITS, PORT_COUNTER_SIZE, PUNT_COUNTER_SIZE


@dataclass(frozen=True)
class MatchFieldSpec:
    name: str
    match_type: str  # "EXACT" | "LPM"
    bitwidth: int


@dataclass(frozen=True)
class ParamSpec:
    name: str
    bitwidth: int


@dataclass(frozen=True)
class ActionSpec:
    name: str
    params: tuple[ParamSpec, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    match_fields: tuple[MatchFieldSpec, ...]
    actions: tuple[str, ...]  # usable in entries and as default
    default_only_actions: tuple[str, ...]
    default_action: str
    capacity: int


@dataclass(frozen=True)
class CounterSpec:
    name: str
    size: int


@dataclass(frozen=True)
class PacketMetadataSpec:
    name: str  # "packet_in" | "packet_out"
    fields: tuple[ParamSpec, ...]

    @property
    def header_len(self) -> int:
        return sum(f.bitwidth for f in self.fields) // 8


@dataclass(frozen=True)
class PipelineSurface:
    tables: tuple[TableSpec, ...]
    actions: tuple[ActionSpec, ...]
    counters: tuple[CounterSpec, ...]
    packet_metadata: tuple[PacketMetadataSpec, ...]
    _tables_by_name: dict[str, TableSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tables_by_name", {t.name: t for t in self.tables})

    def table(self, name: str) -> TableSpec:
        return self._tables_by_name[name]


#: Table sizes router.p4 declares; a target may declare less (its real capacity).
P4_TABLE_SIZES = {
    "ingress.router_mac": 256,
    "egress.port_mac": 256,
    "ingress.local_ip": 64,
    "ingress.ipv4_lpm": 16384,
    "ingress.arp": 1024,
}

MAC = 48
IPV4 = 32


def router_surface(capacities: dict[str, int] | None = None) -> PipelineSurface:
    """The contract's P4Runtime surface (DESIGN.md §1), with the target's capacities."""
    sizes = {**P4_TABLE_SIZES, **(capacities or {})}
    port = ParamSpec("port", PORT_BITS)
    actions = (
        ActionSpec("ingress.set_router_mac", (ParamSpec("mac", MAC),)),
        ActionSpec("egress.set_src_mac", (ParamSpec("mac", MAC),)),
        ActionSpec("ingress.deliver_local"),
        ActionSpec("ingress.set_nexthop", (ParamSpec("nhop_ip", IPV4), port)),
        ActionSpec("ingress.set_direct", (port,)),
        ActionSpec("ingress.drop"),
        ActionSpec("ingress.no_route"),
        ActionSpec("ingress.set_dmac", (ParamSpec("mac", MAC),)),
        ActionSpec("ingress.arp_miss"),
        ActionSpec("NoAction"),
    )

    def table(name, fields, actions, default_only=(), default="NoAction"):
        return TableSpec(name, fields, actions, default_only, default, sizes[name])

    tables = (
        table(
            "ingress.router_mac",
            (MatchFieldSpec("port", "EXACT", PORT_BITS),),
            ("ingress.set_router_mac",),
            ("NoAction",),
        ),
        table(
            "egress.port_mac",
            (MatchFieldSpec("port", "EXACT", PORT_BITS),),
            ("egress.set_src_mac",),
            ("NoAction",),
        ),
        table(
            "ingress.local_ip",
            (MatchFieldSpec("dst_addr", "EXACT", IPV4),),
            ("ingress.deliver_local",),
            ("NoAction",),
        ),
        table(
            "ingress.ipv4_lpm",
            (MatchFieldSpec("dst_addr", "LPM", IPV4),),
            ("ingress.set_nexthop", "ingress.set_direct", "ingress.drop"),
            ("ingress.no_route",),
            "ingress.no_route",
        ),
        table(
            "ingress.arp",
            (MatchFieldSpec("nhop_ip", "EXACT", IPV4),),
            ("ingress.set_dmac",),
            ("ingress.arp_miss",),
            "ingress.arp_miss",
        ),
    )
    counters = (
        CounterSpec("ingress.rx_port", PORT_COUNTER_SIZE),
        CounterSpec("egress.tx_port", PORT_COUNTER_SIZE),
        CounterSpec("ingress.drops", DROP_COUNTER_SIZE),
        CounterSpec("ingress.punts", PUNT_COUNTER_SIZE),
    )
    metadata = (
        PacketMetadataSpec("packet_in", (ParamSpec("ingress_port", 16), ParamSpec("reason", 8))),
        PacketMetadataSpec("packet_out", (ParamSpec("egress_port", 16),)),
    )
    return PipelineSurface(tables, actions, counters, metadata)


_MATCH_TYPES = {p4info_pb2.MatchField.EXACT: "EXACT", p4info_pb2.MatchField.LPM: "LPM"}


def compare(surface: PipelineSurface, p4info: p4info_pb2.P4Info) -> list[str]:
    """Every difference between the target's surface and ``p4info`` that matters.

    Table sizes may differ: the target serves its real capacities.
    """
    problems: list[str] = []
    actions_by_id = {a.preamble.id: a for a in p4info.actions}
    info_actions = {a.preamble.name: a for a in p4info.actions}
    for spec in surface.actions:
        info = info_actions.get(spec.name)
        if info is None:
            problems.append(f"action {spec.name} is missing from the P4Info")
            continue
        got = tuple(ParamSpec(p.name, p.bitwidth) for p in info.params)
        if got != spec.params:
            problems.append(f"action {spec.name}: params {_fmt(got)}, hardware has {_fmt(spec.params)}")
    info_tables = {t.preamble.name: t for t in p4info.tables}
    for spec in surface.tables:
        info = info_tables.pop(spec.name, None)
        if info is None:
            problems.append(f"table {spec.name} is missing from the P4Info")
            continue
        got_fields = tuple(
            MatchFieldSpec(m.name, _MATCH_TYPES.get(m.match_type, str(m.match_type)), m.bitwidth)
            for m in info.match_fields
        )
        if got_fields != spec.match_fields:
            problems.append(f"table {spec.name}: match fields {got_fields}, hardware has {spec.match_fields}")
        refs = {actions_by_id[r.id].preamble.name for r in info.action_refs if r.id in actions_by_id}
        want = set(spec.actions) | set(spec.default_only_actions)
        if refs != want:
            problems.append(f"table {spec.name}: actions {sorted(refs)}, hardware has {sorted(want)}")
    problems.extend(f"table {name} is not implemented by this hardware" for name in info_tables)
    info_counters = {c.preamble.name: c for c in p4info.counters}
    for spec in surface.counters:
        info = info_counters.pop(spec.name, None)
        if info is None:
            problems.append(f"counter {spec.name} is missing from the P4Info")
        elif info.size != spec.size:
            problems.append(f"counter {spec.name}: size {info.size}, hardware has {spec.size}")
    problems.extend(f"counter {name} is not implemented by this hardware" for name in info_counters)
    info_meta = {m.preamble.name: m for m in p4info.controller_packet_metadata}
    for spec in surface.packet_metadata:
        info = info_meta.get(spec.name)
        if info is None:
            problems.append(f"controller header {spec.name} is missing from the P4Info")
            continue
        got = tuple(ParamSpec(m.name, m.bitwidth) for m in info.metadata)
        if got != spec.fields:
            problems.append(
                f"controller header {spec.name}: fields {_fmt(got)}, hardware has {_fmt(spec.fields)}"
            )
    for kind in ("registers", "meters", "action_profiles", "digests", "value_sets", "direct_counters"):
        for item in getattr(p4info, kind):
            problems.append(
                f"{kind[:-1].replace('_', ' ')} {item.preamble.name} is not implemented by this hardware"
            )
    return problems


def _fmt(params: tuple[ParamSpec, ...]) -> str:
    return "(" + ", ".join(f"{p.name}:{p.bitwidth}" for p in params) + ")"
