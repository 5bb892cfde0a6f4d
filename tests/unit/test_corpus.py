"""The shared corpus: current with its generator, complete in coverage, and what the model does."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from controller.cli import main as twinrouter
from sim.model import CPU_PORT, Drop, DropReason, Forward, Punt, PuntReason, ReferencePipeline
from sim.vectors import CORPUS_PATH, Vector, load_corpus
from sim.vectors.generate import (
    Case,
    ExpectationMismatch,
    ExpectForward,
    ExpectPunt,
    generate,
    hand_written_cases,
    ipv4,
    router_mac,
    to_vector,
)

ETH = 14


def test_committed_corpus_is_what_the_generator_produces(corpus: list[Vector]) -> None:
    generated = generate()
    assert [v.to_json() for v in corpus] == [v.to_json() for v in generated]


def test_vectors_check_command_passes_on_the_committed_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert twinrouter(["vectors", "--check"]) == 0
    assert "is current" in capsys.readouterr().out


def test_vectors_check_command_fails_on_a_stale_corpus(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "corpus.json"
    stale.write_text(CORPUS_PATH.read_text().replace('"TTL 2 is forwarded', '"TTL two is forwarded', 1))
    assert twinrouter(["vectors", "--check", "--path", str(stale)]) == 1
    assert "'ttl2-forwarded'" in capsys.readouterr().err
    assert twinrouter(["vectors", "--write", "--path", str(stale)]) == 0
    assert stale.read_bytes() == CORPUS_PATH.read_bytes()


def test_generator_refuses_a_case_the_model_contradicts() -> None:
    case = Case(
        "deliberately-wrong",
        "says forward, is a TTL expiry",
        "core4",
        1,
        ipv4(router_mac("core4", 1), "10.0.1.10", "10.0.2.20", ttl=1),
        ExpectForward(2),
    )
    with pytest.raises(ExpectationMismatch, match="deliberately-wrong"):
        to_vector(case)
    right = Case(case.name, case.description, "core4", 1, case.frame, ExpectPunt(PuntReason.TTL_EXPIRED))
    assert to_vector(right).expected == Punt(PuntReason.TTL_EXPIRED, 1, case.frame)


def test_corpus_is_large_and_names_are_unique(corpus: list[Vector]) -> None:
    assert len(hand_written_cases()) == len(corpus) >= 150
    assert len({v.name for v in corpus}) == len(corpus)
    assert all(v.description for v in corpus)


def test_each_vector_gives_its_expectation_and_moves_its_counters(corpus: list[Vector]) -> None:
    for vector in corpus:
        pipeline = ReferencePipeline(vector.tables)
        assert pipeline.process(vector.frame, vector.ingress_port) == vector.expected, vector.name
        c = pipeline.counters
        length = len(vector.frame)
        assert {p: (v.packets, v.bytes) for p, v in c.rx_port.items()} == {vector.ingress_port: (1, length)}
        outcome = vector.expected
        if isinstance(outcome, Forward):
            tx, punts, drops = {outcome.port: (1, length)}, {}, {}
        elif isinstance(outcome, Punt):
            tx, punts, drops = {CPU_PORT: (1, length)}, {outcome.reason: (1, length)}, {}
        else:
            tx, punts, drops = {}, {}, {outcome.reason: (1, length)}
        assert {p: (v.packets, v.bytes) for p, v in c.tx_port.items()} == tx, vector.name
        assert {r: (v.packets, v.bytes) for r, v in c.punts.items()} == punts, vector.name
        assert {r: (v.packets, v.bytes) for r, v in c.drops.items()} == drops, vector.name


def test_whole_corpus_through_one_pipeline_per_table_adds_up(corpus: list[Vector]) -> None:
    by_table: dict[str, list[Vector]] = defaultdict(list)
    for vector in corpus:
        by_table[next(t for t in vector.tags if t.startswith("table:"))].append(vector)
    for vectors in by_table.values():
        pipeline = ReferencePipeline(vectors[0].tables)
        for vector in vectors:
            assert vector.tables.to_json() == vectors[0].tables.to_json()
            assert pipeline.process(vector.frame, vector.ingress_port) == vector.expected
        c = pipeline.counters
        total_bytes = sum(len(v.frame) for v in vectors)
        assert sum(v.packets for v in c.rx_port.values()) == len(vectors)
        assert sum(v.bytes for v in c.rx_port.values()) == total_bytes
        front_tx = sum(v.bytes for p, v in c.tx_port.items() if p != CPU_PORT)
        punted = sum(v.bytes for v in c.punts.values())
        assert front_tx + punted + sum(v.bytes for v in c.drops.values()) == total_bytes
        assert c.tx_port.get(CPU_PORT, None) is None or c.tx_port[CPU_PORT].bytes == punted


def test_corpus_covers_every_outcome_the_model_can_produce(corpus: list[Vector]) -> None:
    punts = {v.expected.reason for v in corpus if isinstance(v.expected, Punt)}
    drops = {v.expected.reason for v in corpus if isinstance(v.expected, Drop)}
    assert punts == set(PuntReason)
    # QUEUE_FULL needs an output queue, which the model does not have.
    assert drops == set(DropReason) - {DropReason.QUEUE_FULL}
    ports = Counter(v.expected.port for v in corpus if isinstance(v.expected, Forward))
    assert set(ports) >= {1, 2, 3, 4, 5, 8}


@pytest.mark.parametrize(
    "tag",
    [
        "connected",
        "nexthop",
        "default-route",
        "host-route",
        "null-route",
        "hairpin",
        "prefix/0",
        "prefix/32",
        "padding",
        "short-frame",
        "checksum-edge",
        "ttl0",
        "ttl1",
        "packet-out",
        "limited-broadcast",
        "link-local-multicast",
        "l2-broadcast",
        "l2-multicast",
        "wrong-dst-mac",
        "ihl-lt-5",
        "unconfigured-port",
        "split-macs",
        *(f"martian:{b}" for b in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32")),
    ],
)
def test_corpus_has_the_class(corpus: list[Vector], tag: str) -> None:
    assert any(tag in v.tags for v in corpus)


def test_options_ihl_6_to_15_are_forwarded_intact(corpus: list[Vector]) -> None:
    forwarded_ihl = set()
    for v in corpus:
        if isinstance(v.expected, Forward) and "options" in v.tags:
            ihl = v.frame[ETH] & 0xF
            out = v.expected.frame
            assert out[ETH + 20 : ETH + 4 * ihl] == v.frame[ETH + 20 : ETH + 4 * ihl], v.name
            assert out[ETH + 4 * ihl :] == v.frame[ETH + 4 * ihl :], v.name
            forwarded_ihl.add(ihl)
    assert forwarded_ihl == set(range(6, 16))


def test_frame_sizes(corpus: list[Vector]) -> None:
    forwarded = {len(v.frame) for v in corpus if isinstance(v.expected, Forward)}
    assert {60, 64, 65, 128, 256, 512, 1500, 1518, 9000} <= forwarded
    assert any(length < 60 for length in forwarded)


def test_padding_travels_unchanged(corpus: list[Vector]) -> None:
    padded = [v for v in corpus if "padding" in v.tags and isinstance(v.expected, Forward)]
    assert padded
    for v in padded:
        end = ETH + int.from_bytes(v.frame[ETH + 2 : ETH + 4], "big")
        assert end < len(v.frame), v.name
        assert v.expected.frame[end:] == v.frame[end:], v.name


def test_corpus_round_trips_through_json(corpus: list[Vector]) -> None:
    again = [Vector.from_json(v.to_json()) for v in corpus]
    assert again == load_corpus()
