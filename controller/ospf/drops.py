"""Why a received OSPF packet (or LSA) was ignored: every reason is counted, none is fatal."""

from __future__ import annotations

from enum import StrEnum


class DropReason(StrEnum):
    TRUNCATED = "truncated"
    BAD_LENGTH = "bad-length"
    BAD_VERSION = "bad-version"
    BAD_TYPE = "bad-type"
    BAD_CHECKSUM = "bad-checksum"
    BAD_AREA = "bad-area"
    BAD_AUTH_TYPE = "bad-auth-type"
    BAD_AUTH = "bad-auth"
    OWN_PACKET = "own-packet"
    INTERFACE_DOWN = "interface-down"
    PASSIVE_INTERFACE = "passive-interface"
    UNKNOWN_INTERFACE = "unknown-interface"
    WRONG_DESTINATION = "wrong-destination"
    SOURCE_NOT_ON_SUBNET = "source-not-on-subnet"
    HELLO_MASK_MISMATCH = "hello-mask-mismatch"
    HELLO_INTERVAL_MISMATCH = "hello-interval-mismatch"
    DEAD_INTERVAL_MISMATCH = "dead-interval-mismatch"
    OPTIONS_MISMATCH = "options-mismatch"
    UNKNOWN_NEIGHBOR = "unknown-neighbor"
    NEIGHBOR_STATE = "neighbor-state"
    MTU_MISMATCH = "mtu-mismatch"
    DD_DUPLICATE = "dd-duplicate"
    DD_IGNORED = "dd-ignored"
    BAD_LSA_CHECKSUM = "bad-lsa-checksum"
    BAD_LSA = "bad-lsa"
    UNKNOWN_LSA_TYPE = "unknown-lsa-type"
    LSA_TOO_RECENT = "lsa-min-ls-arrival"


class MalformedPacket(ValueError):
    """A packet or LSA that cannot be decoded; ``reason`` says what was wrong with it."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
