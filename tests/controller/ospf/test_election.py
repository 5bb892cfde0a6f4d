"""DR/BDR election (RFC 2328 §9.4)."""

from __future__ import annotations

from ipaddress import IPv4Address

from controller.ospf.election import Candidate, elect

NONE = IPv4Address("0.0.0.0")


def router(n: int, priority: int = 1, dr: int = 0, bdr: int = 0) -> Candidate:
    def address(k: int) -> IPv4Address:
        return IPv4Address(f"10.0.0.{k}") if k else NONE

    return Candidate(IPv4Address(f"{n}.{n}.{n}.{n}"), address(n), priority, address(dr), address(bdr))


def test_alone_we_become_dr_without_bdr():
    assert elect(router(1), []) == (IPv4Address("10.0.0.1"), NONE)


def test_fresh_network_highest_router_id_is_dr_next_is_bdr():
    # Nobody declares anything yet. Router 3 elects itself BDR, promotes itself to DR, and being
    # newly DR re-runs the election (step 5), which gives BDR 2.
    assert elect(router(3), [router(1), router(2)]) == (IPv4Address("10.0.0.3"), IPv4Address("10.0.0.2"))
    # Router 1 sees 3 as both (no re-run: its own role did not change) until 3's hellos declare it.
    assert elect(router(1), [router(2), router(3)]) == (IPv4Address("10.0.0.3"), IPv4Address("10.0.0.3"))
    settled = elect(router(1), [router(2), router(3, dr=3, bdr=2)])
    assert settled == (IPv4Address("10.0.0.3"), IPv4Address("10.0.0.2"))


def test_priority_beats_router_id():
    dr, bdr = elect(router(1, priority=10), [router(2), router(3)])
    assert (dr, bdr) == (IPv4Address("10.0.0.1"), IPv4Address("10.0.0.3"))


def test_priority_zero_never_stands():
    dr, bdr = elect(router(9, priority=0, dr=9, bdr=9), [router(2, dr=3, bdr=2), router(3, dr=3, bdr=2)])
    assert (dr, bdr) == (IPv4Address("10.0.0.3"), IPv4Address("10.0.0.2"))
    assert elect(router(9, priority=0), [router(2, priority=0)]) == (NONE, NONE)


def test_existing_dr_is_kept_when_a_better_router_joins():
    # 2 is DR, 1 BDR; 9 (higher id, higher priority) arrives: no preemption, it may only become BDR
    # once the BDR claim is gone, so here it stays DROther.
    established = [router(2, dr=2, bdr=1), router(1, dr=2, bdr=1)]
    dr, bdr = elect(router(9, priority=100), established)
    assert (dr, bdr) == (IPv4Address("10.0.0.2"), IPv4Address("10.0.0.1"))


def test_bdr_takes_over_when_dr_goes():
    # The DR (3) is gone. The BDR (2) is chosen BDR, promoted to DR, and being newly DR re-runs:
    # the next best (1) becomes BDR.
    dr, bdr = elect(router(2, dr=3, bdr=2), [router(1, dr=3, bdr=2)])
    assert (dr, bdr) == (IPv4Address("10.0.0.2"), IPv4Address("10.0.0.1"))
    # Router 1, once 2's hellos declare that, agrees (and takes the BDR role itself).
    assert elect(router(1, dr=2, bdr=2), [router(2, dr=2, bdr=1)]) == (dr, bdr)


def test_two_routers_claiming_dr_the_higher_wins():
    dr, _ = elect(router(1), [router(2, dr=2), router(3, dr=3)])
    assert dr == IPv4Address("10.0.0.3")


def test_we_stop_being_bdr_when_we_become_dr():
    dr, bdr = elect(router(5, dr=0, bdr=5), [router(2, bdr=5)])
    assert dr == IPv4Address("10.0.0.5")
    assert bdr == IPv4Address("10.0.0.2")
