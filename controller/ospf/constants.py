"""Protocol constants: RFC 2328 Appendix B (architectural constants) and Appendix A."""

from __future__ import annotations

from enum import IntEnum
from ipaddress import IPv4Address

VERSION = 2
IP_PROTOCOL = 89
BACKBONE = IPv4Address("0.0.0.0")
ALL_SPF_ROUTERS = IPv4Address("224.0.0.5")
ALL_D_ROUTERS = IPv4Address("224.0.0.6")
NO_ROUTER = IPv4Address("0.0.0.0")

#: OSPF's administrative distance in the RIB (Cisco/FRR convention).
ADMIN_DISTANCE = 110

# Appendix B, in seconds.
LS_REFRESH_TIME = 1800
MIN_LS_INTERVAL = 5
MIN_LS_ARRIVAL = 1
MAX_AGE = 3600
CHECK_AGE = 300
MAX_AGE_DIFF = 900
LS_INFINITY = 0xFFFFFF
INITIAL_SEQUENCE_NUMBER = -0x7FFFFFFF  # 0x80000001 as a signed 32-bit number
MAX_SEQUENCE_NUMBER = 0x7FFFFFFF

# Options field (A.2): only the E bit matters in area 0 without external routes.
OPTION_E = 0x02

# Database Description flags (A.3.3).
DD_FLAG_MS = 0x01
DD_FLAG_M = 0x02
DD_FLAG_I = 0x04

HEADER_LENGTH = 24
LSA_HEADER_LENGTH = 20
IP_HEADER_LENGTH = 20


class PacketType(IntEnum):
    HELLO = 1
    DATABASE_DESCRIPTION = 2
    LINK_STATE_REQUEST = 3
    LINK_STATE_UPDATE = 4
    LINK_STATE_ACK = 5


class LsaType(IntEnum):
    ROUTER = 1
    NETWORK = 2


class RouterLinkType(IntEnum):
    POINT_TO_POINT = 1
    TRANSIT = 2
    STUB = 3
    VIRTUAL = 4


class AuthType(IntEnum):
    NULL = 0
    SIMPLE = 1
