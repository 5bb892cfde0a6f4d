"""p4/codes.p4 repeats sim/model/codes.py; the two must agree number for number."""

from __future__ import annotations

import re
from pathlib import Path

from sim.model import codes

CODES_P4 = Path(__file__).resolve().parents[2] / "p4" / "codes.p4"

_CONST = re.compile(r"^const\s+[\w<>]+\s+(\w+)\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*;", re.MULTILINE)
_DEFINE = re.compile(r"^#define\s+(\w+)\s+(\d+)\s*$", re.MULTILINE)
_PORT_T = re.compile(r"^typedef\s+bit<(\d+)>\s+port_t\s*;", re.MULTILINE)


def p4_constants() -> dict[str, int]:
    text = CODES_P4.read_text()
    return {name: int(value, 0) for name, value in _CONST.findall(text)}


def p4_defines() -> dict[str, int]:
    return {name: int(value) for name, value in _DEFINE.findall(CODES_P4.read_text())}


def _with_prefix(constants: dict[str, int], prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix): value for name, value in constants.items() if name.startswith(prefix)}


def test_the_parser_finds_the_constants():
    # Guards the regexes: if they stopped matching, every comparison below would be vacuous.
    assert len(p4_constants()) >= len(codes.PuntReason) + len(codes.DropReason)


def test_punt_reasons_agree():
    assert _with_prefix(p4_constants(), "PUNT_REASON_") == {r.name: r.value for r in codes.PuntReason}


def test_drop_reasons_agree():
    assert _with_prefix(p4_constants(), "DROP_REASON_") == {r.name: r.value for r in codes.DropReason}


def test_ports_agree():
    constants = p4_constants()
    assert constants["CPU_PORT"] == codes.CPU_PORT
    assert p4_defines()["NUM_PORTS"] == codes.DEFAULT_NUM_PORTS
    (width,) = _PORT_T.findall(CODES_P4.read_text())
    assert int(width) == codes.PORT_BITS


def test_protocol_numbers_agree():
    constants = p4_constants()
    assert constants["ETHERTYPE_IPV4"] == codes.ETHERTYPE_IPV4
    assert constants["ETHERTYPE_ARP"] == codes.ETHERTYPE_ARP
    assert constants["ETH_HEADER_LEN"] == codes.ETH_HEADER_LEN


def test_counter_sizes_agree():
    constants = p4_constants()
    assert constants["PUNT_COUNTER_SIZE"] == codes.PUNT_COUNTER_SIZE
    assert constants["DROP_COUNTER_SIZE"] == codes.DROP_COUNTER_SIZE
    assert constants["PORT_COUNTER_SIZE"] == codes.PORT_COUNTER_SIZE
