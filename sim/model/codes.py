"""The pipeline contract's numbers, in one place.

Every data plane and the controller take punt reasons, drop reasons and
well-known port numbers from here; ``p4/router.p4`` repeats them as
constants and ``tests/p4/test_codes_agree.py`` checks the two agree.
"""

from __future__ import annotations

from enum import IntEnum

#: P4Runtime port number of the CPU port (packet-in / packet-out).
CPU_PORT = 255
#: Front-panel ports are 1..DEFAULT_NUM_PORTS unless a build says otherwise.
DEFAULT_NUM_PORTS = 4
#: Width of a port number in the P4Info (v1model ``egress_spec``).
PORT_BITS = 9

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806

ETH_HEADER_LEN = 14
ARP_HEADER_LEN = 28
IPV4_MIN_HEADER_LEN = 20

#: Controller headers as they appear on the CPU port (see ``p4/headers.p4``).
PACKET_OUT_HEADER_LEN = 2  # egress_port: bit<16>
PACKET_IN_HEADER_LEN = 3  # ingress_port: bit<16>, reason: bit<8>


class PuntReason(IntEnum):
    """``packet_in.reason``: why a frame was sent to the controller."""

    ARP = 1
    LOCAL = 2
    TTL_EXPIRED = 3
    NO_ROUTE = 4
    ARP_MISS = 5


class DropReason(IntEnum):
    """Index into the ``drops`` counter: why the pipeline discarded a frame."""

    BAD_PACKET_OUT_PORT = 1
    TRUNCATED = 2
    NOT_ROUTABLE_L2 = 3
    NOT_FOR_US = 4
    UNSUPPORTED_ETHERTYPE = 5
    IPV4_VERSION = 6
    IPV4_IHL = 7
    IPV4_LENGTH = 8
    IPV4_CHECKSUM = 9
    MARTIAN_SOURCE = 10
    MULTICAST_DESTINATION = 11
    NULL_ROUTE = 12
    QUEUE_FULL = 13


#: Sizes of the reason-indexed counters (index 0 is unused).
PUNT_COUNTER_SIZE = 8
DROP_COUNTER_SIZE = 16
#: Size of the port-indexed counters: every port number, CPU port included.
PORT_COUNTER_SIZE = 1 << 8
