"""Packet and LSA encoding, both checksums, cross-checked against scapy's independent OSPF layers."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.contrib.ospf import (
    OSPF_DBDesc,
    OSPF_Hdr,
    OSPF_Hello,
    OSPF_Link,
    OSPF_LSA_Hdr,
    OSPF_LSAck,
    OSPF_LSReq,
    OSPF_LSReq_Item,
    OSPF_LSUpd,
    OSPF_Network_LSA,
    OSPF_Router_LSA,
    ospf_lsa_checksum,
)

from controller.ospf.checksum import lsa_checksum, lsa_checksum_ok
from controller.ospf.constants import AuthType, LsaType, RouterLinkType
from controller.ospf.drops import DropReason, MalformedPacket
from controller.ospf.lsa import Lsa, LsaHeader, LsaKey, NetworkLsaBody, RouterLink, RouterLsaBody
from controller.ospf.packets import (
    Authentication,
    DatabaseDescription,
    Hello,
    LinkStateAck,
    LinkStateRequest,
    LinkStateUpdate,
    Packet,
    decode,
)

A = IPv4Address


def router_lsa(seq: int = -0x7FFFFFFF, age: int = 0) -> Lsa:
    body = RouterLsaBody(
        0,
        (
            RouterLink(A("2.2.2.2"), A("10.0.0.1"), RouterLinkType.POINT_TO_POINT, 10),
            RouterLink(A("10.0.0.0"), A("255.255.255.252"), RouterLinkType.STUB, 10),
            RouterLink(A("10.1.0.5"), A("10.1.0.1"), RouterLinkType.TRANSIT, 1),
        ),
    )
    return Lsa.build(LsaType.ROUTER, A("1.1.1.1"), A("1.1.1.1"), seq, 0x02, body).with_age(age)


def scapy_router_lsa(seq: int = 0x80000001, age: int = 0) -> bytes:
    return bytes(
        OSPF_Router_LSA(
            age=age,
            options=0x02,
            id="1.1.1.1",
            adrouter="1.1.1.1",
            seq=seq,
            linklist=[
                OSPF_Link(id="2.2.2.2", data="10.0.0.1", type=1, metric=10),
                OSPF_Link(id="10.0.0.0", data="255.255.255.252", type=3, metric=10),
                OSPF_Link(id="10.1.0.5", data="10.1.0.1", type=2, metric=1),
            ],
        )
    )


def test_router_lsa_bytes_and_checksum_match_scapy():
    ours = router_lsa(age=7).encode()
    assert ours == scapy_router_lsa(age=7)
    assert int.from_bytes(ospf_lsa_checksum(ours), "big") == lsa_checksum(ours)


def test_network_lsa_bytes_and_checksum_match_scapy():
    body = NetworkLsaBody(A("255.255.255.0"), (A("3.3.3.3"), A("1.1.1.1"), A("2.2.2.2")))
    ours = Lsa.build(LsaType.NETWORK, A("10.1.0.3"), A("3.3.3.3"), 0x1234, 0x02, body).encode()
    theirs = OSPF_Network_LSA(
        age=0,
        options=0x02,
        id="10.1.0.3",
        adrouter="3.3.3.3",
        seq=0x1234,
        routerlist=["3.3.3.3", "1.1.1.1", "2.2.2.2"],
    )
    assert ours == bytes(theirs)


def checkbytes_by_definition(lsa: bytes) -> int:
    """ISO 8473 Annex C from its definition: the two bytes making both Fletcher sums zero mod 255.

    Over the LSA without its age, byte i of n adds b to C0 and (n - i) * b to C1; we search the
    checksum bytes (1..255 each, the algorithm never yields 0) instead of using the closed form.
    """
    data = lsa[2:16] + b"\0\0" + lsa[18:]
    n = len(data)
    c0 = sum(data) % 255
    c1 = sum((n - i) * byte for i, byte in enumerate(data)) % 255
    weight_x, weight_y = n - 14, n - 15
    for x in range(1, 256):
        for y in range(1, 256):
            if (c0 + x + y) % 255 == 0 and (c1 + weight_x * x + weight_y * y) % 255 == 0:
                return (x << 8) | y
    raise AssertionError("no checksum")


def test_lsa_checksum_against_its_definition():
    # A router-LSA for 1.1.1.1 with one stub link, 192.168.1.0/24 metric 10, written out by hand.
    lsa = bytes.fromhex(
        "0001 0201 01010101 01010101 80000001 0000 0024 0000 0001 c0a80100 ffffff00 03 00 000a"
    )
    checksum = lsa_checksum(lsa)
    assert checksum == checkbytes_by_definition(lsa)
    assert ospf_lsa_checksum(lsa) == checksum.to_bytes(2, "big")
    assert lsa_checksum_ok(lsa[:16] + checksum.to_bytes(2, "big") + lsa[18:])
    assert lsa_checksum(router_lsa().encode()) == checkbytes_by_definition(router_lsa().encode())


def test_age_is_not_covered_but_everything_else_is():
    lsa = router_lsa().encode()
    assert lsa_checksum_ok(b"\x0e\x10" + lsa[2:])  # age 3600
    for index in range(2, len(lsa)):
        corrupted = bytearray(lsa)
        corrupted[index] ^= 0x01
        assert not lsa_checksum_ok(bytes(corrupted)), index


@given(
    seq=st.integers(-0x7FFFFFFF, 0x7FFFFFFF),
    links=st.lists(
        st.tuples(
            st.integers(0, 2**32 - 1),
            st.integers(0, 2**32 - 1),
            st.sampled_from([1, 2, 3]),
            st.integers(0, 0xFFFF),
        ),
        max_size=20,
    ),
)
def test_any_built_lsa_verifies_and_agrees_with_scapy(seq, links):
    body = RouterLsaBody(0, tuple(RouterLink(A(i), A(d), RouterLinkType(t), m) for i, d, t, m in links))
    lsa = Lsa.build(LsaType.ROUTER, A("9.9.9.9"), A("9.9.9.9"), seq, 0x02, body).encode()
    assert lsa_checksum_ok(lsa)
    assert int.from_bytes(ospf_lsa_checksum(lsa), "big") == lsa_checksum(lsa)
    decoded, end = Lsa.decode(lsa)
    assert end == len(lsa) and decoded.body == body


def header(packet_type: int, length: int | None = None) -> OSPF_Hdr:
    return OSPF_Hdr(type=packet_type, src="1.1.1.1", area="0.0.0.0")


def test_hello_matches_scapy():
    hello = Hello(
        A("255.255.255.0"), 10, 0x02, 1, 40, A("10.0.0.2"), A("10.0.0.1"), (A("2.2.2.2"), A("3.3.3.3"))
    )
    ours = Packet(A("1.1.1.1"), A("0.0.0.0"), hello).encode()
    theirs = bytes(
        header(1)
        / OSPF_Hello(
            mask="255.255.255.0",
            hellointerval=10,
            options=0x02,
            prio=1,
            deadinterval=40,
            router="10.0.0.2",
            backup="10.0.0.1",
            neighbors=["2.2.2.2", "3.3.3.3"],
        )
    )
    assert ours == theirs
    assert decode(ours).body == hello


def test_database_description_matches_scapy():
    lsa = router_lsa()
    dd = DatabaseDescription(1500, 0x02, 0x07, 0xDEADBEEF, (lsa.header,))
    ours = Packet(A("1.1.1.1"), A("0.0.0.0"), dd).encode()
    scapy_header = OSPF_LSA_Hdr(bytes(scapy_router_lsa())[:20])
    theirs = bytes(
        header(2)
        / OSPF_DBDesc(mtu=1500, options=0x02, dbdescr=0x07, ddseq=0xDEADBEEF, lsaheaders=[scapy_header])
    )
    assert ours == theirs
    assert decode(ours).body == dd


def test_request_update_ack_match_scapy():
    lsa = router_lsa()
    request = LinkStateRequest((LsaKey(1, A("1.1.1.1"), A("1.1.1.1")),))
    theirs = header(3) / OSPF_LSReq(requests=[OSPF_LSReq_Item(type=1, id="1.1.1.1", adrouter="1.1.1.1")])
    assert Packet(A("1.1.1.1"), A("0.0.0.0"), request).encode() == bytes(theirs)
    update = LinkStateUpdate((lsa,))
    theirs = header(4) / OSPF_LSUpd(lsalist=[OSPF_Router_LSA(scapy_router_lsa())])
    assert Packet(A("1.1.1.1"), A("0.0.0.0"), update).encode() == bytes(theirs)
    ack = LinkStateAck((lsa.header,))
    theirs = header(5) / OSPF_LSAck(lsaheaders=[OSPF_LSA_Hdr(scapy_router_lsa()[:20])])
    assert Packet(A("1.1.1.1"), A("0.0.0.0"), ack).encode() == bytes(theirs)
    for body in (request, update, ack):
        assert decode(Packet(A("1.1.1.1"), A("0.0.0.0"), body).encode()).body == body


def test_simple_password():
    auth = Authentication(AuthType.SIMPLE, b"secret")
    data = Packet(A("1.1.1.1"), A("0.0.0.0"), LinkStateAck(())).encode(auth)
    assert data[16:24] == b"secret\0\0"
    assert decode(data, auth).router_id == A("1.1.1.1")
    with pytest.raises(MalformedPacket) as error:
        decode(data, Authentication(AuthType.SIMPLE, b"other"))
    assert error.value.reason == DropReason.BAD_AUTH
    with pytest.raises(MalformedPacket) as error:
        decode(data)
    assert error.value.reason == DropReason.BAD_AUTH_TYPE


def valid_hello() -> bytes:
    hello = Hello(A("255.255.255.0"), 10, 0x02, 1, 40, A("0.0.0.0"), A("0.0.0.0"), (A("2.2.2.2"),))
    return Packet(A("1.1.1.1"), A("0.0.0.0"), hello).encode()


def reason(data: bytes) -> DropReason:
    with pytest.raises(MalformedPacket) as error:
        decode(data)
    return error.value.reason


def restamp(data: bytes) -> bytes:
    """``data`` with a correct OSPF checksum again (so that only the intended fault remains)."""
    from controller.ospf.checksum import packet_checksum

    return data[:12] + packet_checksum(data).to_bytes(2, "big") + data[14:]


def test_decode_errors_name_their_reason():
    good = valid_hello()
    assert reason(good[:23]) == DropReason.TRUNCATED
    assert reason(restamp(b"\x03" + good[1:])) == DropReason.BAD_VERSION
    assert reason(restamp(good[:1] + b"\x09" + good[2:])) == DropReason.BAD_TYPE
    assert reason(good[:2] + (len(good) + 4).to_bytes(2, "big") + good[4:]) == DropReason.BAD_LENGTH
    assert reason(good[:12] + bytes([good[12] ^ 0xFF]) + good[13:]) == DropReason.BAD_CHECKSUM
    short_body = restamp((good[:2] + (len(good) - 2).to_bytes(2, "big") + good[4:])[:-2])
    assert reason(short_body) == DropReason.BAD_LENGTH
    assert decode(good + b"\0\0\0\0").body == decode(good).body  # link padding past the length


def test_update_keeps_good_lsas_and_names_bad_ones():
    good = router_lsa().encode()
    bad_checksum = good[:16] + b"\x00\x01" + good[18:]
    unknown = bytearray(good)
    unknown[3] = 11  # an opaque LSA type we do not speak
    unknown[16:18] = lsa_checksum(bytes(unknown)).to_bytes(2, "big")
    body = (3).to_bytes(4, "big") + bad_checksum + bytes(unknown) + good
    update = LinkStateUpdate.decode_body(body)
    assert [lsa.encode() for lsa in update.lsas] == [good]
    assert update.rejected == (DropReason.BAD_LSA_CHECKSUM, DropReason.UNKNOWN_LSA_TYPE)


def test_header_key_and_round_trip():
    lsa = router_lsa(seq=5, age=100)
    assert LsaHeader.decode(lsa.header.encode()) == lsa.header
    assert lsa.key == LsaKey(1, A("1.1.1.1"), A("1.1.1.1"))
