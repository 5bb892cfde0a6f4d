"""The management channel: the board end of the in-band management protocol.

Frames of EtherType 0x88B5 on the management port carry management-bus reads
and writes, an INFO query, and the CPU port's packets in both directions.
The frame format is defined (and documented) once, in
``sim/hdl_target/mgmt_protocol.py``; this component speaks it in gateware so
the same host program drives the simulated pipeline and a real board.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sim.hdl_target.mgmt_protocol import ETHERTYPE_MGMT, HEADER, MAX_WORDS, VERSION, Opcode, Status

from .mgmt import DATA_WIDTH, MgmtSignature
from .stream import packet_signature

ETH_LEN = 14
HEADER_LEN = ETH_LEN + HEADER.size  # Ethernet + management header = 22 bytes
ADDR_COUNT_LEN = 6


class Body(enum.Enum, shape=2):
    """What follows the header of a frame the channel sends."""

    NONE = 0
    ADDR_COUNT = 1  # WRITE response; READ response (then the words)
    INFO = 2
    PACKET_IN = 3


def _be(value: Value, offset: int, length: int) -> Value:
    """Bytes ``offset .. offset+length`` of a little-endian byte vector, read big-endian."""
    return Cat(*(value.word_select(offset + length - 1 - i, 8) for i in range(length)))


def _bytes_be(value: Value, length: int) -> list[Value]:
    """The ``length`` bytes of ``value`` in network order."""
    return [value.word_select(length - 1 - i, 8) for i in range(length)]


class MgmtChannel(wiring.Component):
    """Serves management requests from ``rx`` on ``bus``; answers and PACKET_INs go out on ``tx``.

    All streams are byte streams (the packet stream at width 1): management
    traffic is light, and the MAC side of a board is 8 bits wide anyway.

    * ``rx`` / ``tx``: frames from and to the management port. Frames of any
      other EtherType are consumed and counted in ``frames_ignored``.
    * ``bus``: the core's management bus; one access at a time. An access
      not acknowledged within ``bus_timeout`` cycles ends the request with
      status BUS_ERROR, so a missing subordinate cannot hang the channel.
    * ``cpu_out``: the body of each PACKET_OUT (``packet_out`` header +
      frame), as one frame into the pipeline's CPU port.
    * ``cpu_in``: frames from the CPU port (``packet_in`` header + frame).
      Each is stored whole (up to ``packet_in_bytes``; longer ones are
      dropped and counted in ``packet_ins_dropped``), then sent to the host
      as a PACKET_IN, addressed to the MAC of the last request seen.

    Every request frame gets exactly one response (same opcode and
    sequence) unless it is shorter than the 22-byte header, which is counted
    in ``frames_ignored``. READ words are all fetched before the response
    starts, so its status covers them.

    Latency: a response starts 2 + (words read) x (bus latency + 1) cycles
    after the request's last byte. Throughput: one byte per cycle on every
    stream, except one idle cycle per READ word. Backpressure: ``rx`` stalls
    while a response or PACKET_IN is being sent, while ``cpu_out`` stalls
    and during bus accesses; ``cpu_in`` stalls while a stored PACKET_IN
    waits to be sent. Requests and PACKET_INs take turns when both wait.
    """

    def __init__(
        self,
        *,
        addr_width: int,
        device_mac: int,
        info: bytes,
        max_words: int = MAX_WORDS,
        packet_in_bytes: int = 2048,
        bus_timeout: int = 1024,
    ):
        if not isinstance(device_mac, int) or not 0 <= device_mac < 1 << 48:
            raise ValueError(f"device_mac must be a 48-bit integer, not {device_mac!r}")
        if not isinstance(info, bytes) or not 0 < len(info) < 1 << 16:
            raise ValueError("info must be a non-empty byte string shorter than 64 KiB")
        if not isinstance(max_words, int) or not 1 <= max_words <= MAX_WORDS:
            raise ValueError(f"max_words must be 1..{MAX_WORDS}, not {max_words!r}")
        if not isinstance(packet_in_bytes, int) or not 64 <= packet_in_bytes <= 1 << 16:
            raise ValueError(f"packet_in_bytes must be 64..65536, not {packet_in_bytes!r}")
        if not isinstance(bus_timeout, int) or bus_timeout < 2:
            raise ValueError(f"bus_timeout must be at least 2 cycles, not {bus_timeout!r}")
        self.device_mac = device_mac
        self.info = info
        self.max_words = max_words
        self.packet_in_bytes = packet_in_bytes
        self.bus_timeout = bus_timeout
        super().__init__(
            {
                "rx": In(packet_signature(1)),
                "tx": Out(packet_signature(1)),
                "bus": Out(MgmtSignature(addr_width)),
                "cpu_out": Out(packet_signature(1)),
                "cpu_in": In(packet_signature(1)),
                "frames_ignored": Out(16),
                "packet_ins_dropped": Out(16),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.words = words = Memory(shape=DATA_WIDTH, depth=self.max_words, init=[])
        m.submodules.packet_in = packet_in = Memory(shape=8, depth=self.packet_in_bytes, init=[])
        packet_in_len = self._capture_packet_in(m, packet_in)

        rx, tx, bus = self.rx, self.tx, self.bus
        rx_byte = rx.payload.data[:8]

        # --- the request being served -------------------------------------------------
        header = Signal(8 * HEADER_LEN)  # received bytes, byte 0 in bits 0..7
        addr_count = Signal(8 * ADDR_COUNT_LEN)  # shifted in big-endian
        word = Signal(DATA_WIDTH)
        index = Signal(range(max(HEADER_LEN, 1 << 16) + 1))
        in_frame = Signal()  # the request's last byte has not been consumed yet
        host_mac = Signal(48, init=(1 << 48) - 1)

        ethertype = _be(header, 12, 2)
        version = header.word_select(14, 8)
        opcode = header.word_select(15, 8)
        sequence = _be(header, 16, 2)
        length = _be(header, 20, 2)
        addr = addr_count[16:48]
        count = addr_count[0:16]

        # --- the frame being sent ------------------------------------------------------
        out_opcode = Signal(8)
        out_sequence = Signal(16)
        out_status = Signal(8)
        out_length = Signal(16)
        out_dst = Signal(48)
        out_body = Signal(Body)
        packet_in_sequence = Signal(16)
        packet_in_turn = Signal()  # alternate requests and PACKET_INs
        out_bytes = Array(
            [
                *_bytes_be(out_dst, 6),
                *_bytes_be(Const(self.device_mac, 48), 6),
                *_bytes_be(Const(ETHERTYPE_MGMT, 16), 2),
                Const(VERSION, 8),
                out_opcode,
                *_bytes_be(out_sequence, 2),
                out_status,
                Const(0, 8),
                *_bytes_be(out_length, 2),
            ]
        )
        info_bytes = Array([Const(b, 8) for b in self.info])
        addr_count_bytes = Array(_bytes_be(addr_count, ADDR_COUNT_LEN))

        words_rd = words.read_port()
        words_wr = words.write_port()
        packet_in_rd = packet_in.read_port()
        word_index = Signal(range(self.max_words + 1))
        timer = Signal(range(self.bus_timeout + 1))

        def respond(status: int | Value, body: Body = Body.NONE, body_length: int | Value = 0) -> None:
            m.d.sync += [
                index.eq(0),  # the reply's header starts at byte 0
                out_status.eq(status),
                out_body.eq(body),
                out_length.eq(body_length),
                out_opcode.eq(opcode),
                out_sequence.eq(sequence),
                out_dst.eq(_be(header, 6, 6)),
            ]

        def emit(byte: Value, last: Value) -> None:
            m.d.comb += [
                tx.valid.eq(1),
                tx.payload.data.eq(byte),
                tx.payload.keep.eq(1),
                tx.payload.first.eq(0),
                tx.payload.last.eq(last),
            ]

        m.d.comb += words_rd.addr.eq(word_index)
        # SEND_PACKET_IN runs the address one byte ahead; elsewhere it rests on
        # byte 0, so that state starts with byte 0 on the read port.
        m.d.comb += packet_in_rd.addr.eq(0)
        m.d.comb += [words_wr.addr.eq(word_index), words_wr.data.eq(bus.dat_r)]
        m.d.comb += bus.dat_w.eq(word)

        with m.FSM(name="channel"):
            with m.State("IDLE"):
                m.d.sync += [index.eq(0), word_index.eq(0), timer.eq(0)]
                with m.If(packet_in_len.valid & (packet_in_turn | ~rx.valid)):
                    m.d.sync += [
                        out_opcode.eq(Opcode.PACKET_IN),
                        out_sequence.eq(packet_in_sequence),
                        packet_in_sequence.eq(packet_in_sequence + 1),
                        out_status.eq(Status.OK),
                        out_length.eq(packet_in_len.payload),
                        out_body.eq(Body.PACKET_IN),
                        out_dst.eq(host_mac),
                        packet_in_turn.eq(0),
                    ]
                    m.next = "SEND_HEADER"
                with m.Elif(rx.valid):
                    m.d.sync += [in_frame.eq(1), packet_in_turn.eq(1)]
                    m.next = "RECEIVE_HEADER"

            with m.State("RECEIVE_HEADER"):
                m.d.comb += rx.ready.eq(1)
                with m.If(rx.valid):
                    m.d.sync += [header.eq(Cat(header[8:], rx_byte)), index.eq(index + 1)]
                    with m.If(rx.payload.last):
                        m.d.sync += in_frame.eq(0)
                        with m.If(index == HEADER_LEN - 1):
                            m.next = "DECODE"
                        with m.Else():
                            m.d.sync += self.frames_ignored.eq(self.frames_ignored + 1)
                            m.next = "IDLE"
                    with m.Elif(index == HEADER_LEN - 1):
                        m.next = "DECODE"

            with m.State("DECODE"):
                m.d.sync += index.eq(0)
                with m.If(ethertype != ETHERTYPE_MGMT):
                    m.d.sync += self.frames_ignored.eq(self.frames_ignored + 1)
                    m.next = "DISCARD"
                with m.Else():
                    m.d.sync += host_mac.eq(_be(header, 6, 6))
                    with m.If(version != VERSION):
                        respond(Status.BAD_VERSION)
                        m.next = "DRAIN"
                    with m.Elif((opcode == Opcode.READ) | (opcode == Opcode.WRITE)):
                        m.next = "RECEIVE_ADDR"
                    with m.Elif(opcode == Opcode.INFO):
                        respond(Status.OK, Body.INFO, len(self.info))
                        m.next = "DRAIN"
                    with m.Elif(opcode == Opcode.PACKET_OUT):
                        with m.If((length == 0) | ~in_frame):
                            respond(Status.MALFORMED)
                            m.next = "DRAIN"
                        with m.Else():
                            respond(Status.OK)
                            m.next = "FORWARD"
                    with m.Else():
                        respond(Status.BAD_OPCODE)
                        m.next = "DRAIN"

            with m.State("DISCARD"):  # a frame that is not ours: swallow it quietly
                m.d.comb += rx.ready.eq(in_frame)
                with m.If(~in_frame | (rx.valid & rx.payload.last)):
                    m.d.sync += in_frame.eq(0)
                    m.next = "IDLE"

            with m.State("RECEIVE_ADDR"):
                m.d.comb += rx.ready.eq(in_frame)
                with m.If(~in_frame):
                    respond(Status.MALFORMED)
                    m.next = "SEND_HEADER"
                with m.Elif(rx.valid):
                    m.d.sync += [addr_count.eq(Cat(rx_byte, addr_count[:-8])), index.eq(index + 1)]
                    with m.If(rx.payload.last):
                        m.d.sync += in_frame.eq(0)
                    with m.If(index == ADDR_COUNT_LEN - 1):
                        m.next = "CHECK_COUNT"

            with m.State("CHECK_COUNT"):
                m.d.sync += index.eq(0)
                with m.If((count == 0) | (count > self.max_words)):
                    respond(Mux(count == 0, Status.MALFORMED, Status.TOO_LONG))
                    m.next = "DRAIN"
                with m.Elif(opcode == Opcode.READ):
                    m.next = "BUS_READ"
                with m.Elif((length != ADDR_COUNT_LEN + 4 * count) | ~in_frame):
                    respond(Status.MALFORMED)
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "RECEIVE_WORD"

            with m.State("RECEIVE_WORD"):
                m.d.comb += rx.ready.eq(in_frame)
                with m.If(~in_frame):  # the frame ended inside the words
                    respond(Status.MALFORMED)
                    m.next = "SEND_HEADER"
                with m.Elif(rx.valid):
                    m.d.sync += [word.eq(Cat(rx_byte, word[:-8])), index.eq(index + 1)]
                    with m.If(rx.payload.last):
                        m.d.sync += in_frame.eq(0)
                    with m.If(index == 3):
                        m.d.sync += [index.eq(0), timer.eq(0)]
                        m.next = "BUS_WRITE"

            with m.State("BUS_WRITE"):
                m.d.comb += [bus.stb.eq(1), bus.we.eq(1), bus.adr.eq(addr + word_index)]
                m.d.sync += timer.eq(timer + 1)
                with m.If(bus.ack):
                    m.d.sync += word_index.eq(word_index + 1)
                    with m.If(word_index + 1 == count):
                        respond(Status.OK, Body.ADDR_COUNT, ADDR_COUNT_LEN)
                        m.next = "DRAIN"
                    with m.Else():
                        m.next = "BUS_GAP"
                with m.Elif(timer == self.bus_timeout):
                    respond(Status.BUS_ERROR)
                    m.next = "DRAIN"

            with m.State("BUS_GAP"):  # stb low for a cycle between accesses
                m.d.sync += timer.eq(0)
                with m.If(opcode == Opcode.READ):
                    m.next = "BUS_READ"
                with m.Else():
                    m.next = "RECEIVE_WORD"

            with m.State("BUS_READ"):
                m.d.comb += [bus.stb.eq(1), bus.adr.eq(addr + word_index)]
                m.d.sync += timer.eq(timer + 1)
                with m.If(bus.ack):
                    m.d.comb += words_wr.en.eq(1)
                    m.d.sync += word_index.eq(word_index + 1)
                    with m.If(word_index + 1 == count):
                        respond(Status.OK, Body.ADDR_COUNT, ADDR_COUNT_LEN + 4 * count)
                        m.next = "DRAIN"
                    with m.Else():
                        m.next = "BUS_GAP"
                with m.Elif(timer == self.bus_timeout):
                    respond(Status.BUS_ERROR)
                    m.next = "DRAIN"

            with m.State("FORWARD"):  # PACKET_OUT body -> CPU port, `length` bytes
                last_byte = index == length - 1
                m.d.comb += [
                    self.cpu_out.valid.eq(rx.valid & in_frame),
                    self.cpu_out.payload.data.eq(rx_byte),
                    self.cpu_out.payload.keep.eq(1),
                    self.cpu_out.payload.first.eq(index == 0),
                    self.cpu_out.payload.last.eq(rx.payload.last | last_byte),
                    rx.ready.eq(self.cpu_out.ready & in_frame),
                ]
                with m.If(~in_frame):  # not reached: DECODE checked in_frame
                    m.d.sync += index.eq(0)
                    m.next = "SEND_HEADER"
                with m.Elif(rx.valid & self.cpu_out.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(rx.payload.last):
                        m.d.sync += [in_frame.eq(0), index.eq(0)]
                        with m.If(~last_byte):  # the frame ended early: truncated body
                            m.d.sync += out_status.eq(Status.MALFORMED)
                        m.next = "SEND_HEADER"
                    with m.Elif(last_byte):
                        m.next = "DRAIN"

            with m.State("DRAIN"):  # consume what is left of the request (padding)
                m.d.comb += rx.ready.eq(in_frame)
                m.d.sync += index.eq(0)
                with m.If(~in_frame | (rx.valid & rx.payload.last)):
                    m.d.sync += in_frame.eq(0)
                    m.next = "SEND_HEADER"

            with m.State("SEND_HEADER"):
                m.d.sync += word_index.eq(0)
                emit(out_bytes[index], (index == HEADER_LEN - 1) & (out_length == 0))
                m.d.comb += tx.payload.first.eq(index == 0)
                with m.If(tx.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == HEADER_LEN - 1):
                        m.d.sync += index.eq(0)
                        with m.If(out_length == 0):
                            m.next = "IDLE"
                        with m.Elif(out_body == Body.ADDR_COUNT):
                            m.next = "SEND_ADDR_COUNT"
                        with m.Elif(out_body == Body.INFO):
                            m.next = "SEND_INFO"
                        with m.Else():
                            m.next = "SEND_PACKET_IN"

            with m.State("SEND_ADDR_COUNT"):
                emit(addr_count_bytes[index], (index == ADDR_COUNT_LEN - 1) & (out_length == ADDR_COUNT_LEN))
                with m.If(tx.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == ADDR_COUNT_LEN - 1):
                        m.d.sync += index.eq(0)
                        m.next = "SEND_ADDR_COUNT_DONE"

            with m.State("SEND_ADDR_COUNT_DONE"):
                # READ responses go on with the words (memory read address settles here).
                with m.If(out_length == ADDR_COUNT_LEN):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "SEND_WORD"

            with m.State("SEND_WORD"):
                last_word = word_index == count - 1
                emit(words_rd.data.word_select(~index[:2], 8), last_word & (index == 3))  # big-endian
                with m.If(tx.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == 3):
                        m.d.sync += [index.eq(0), word_index.eq(word_index + 1)]
                        m.next = "NEXT_WORD"

            with m.State("NEXT_WORD"):  # one cycle for the word memory's read
                with m.If(word_index == count):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "SEND_WORD"

            with m.State("SEND_INFO"):
                emit(info_bytes[index], index == len(self.info) - 1)
                with m.If(tx.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == len(self.info) - 1):
                        m.next = "IDLE"

            with m.State("SEND_PACKET_IN"):
                # The read address runs one byte ahead of what is on tx.
                advance = tx.ready
                m.d.comb += packet_in_rd.addr.eq(Mux(advance, index + 1, index))
                emit(packet_in_rd.data, index == out_length - 1)
                with m.If(advance):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == out_length - 1):
                        m.d.comb += packet_in_len.ready.eq(1)
                        m.next = "IDLE"

        return m

    def _capture_packet_in(self, m: Module, memory: Memory):
        """Store each ``cpu_in`` frame whole; returns a (valid, ready, payload=length) handshake."""

        class Stored:
            valid = Signal(name="packet_in_stored")
            ready = Signal(name="packet_in_sent")
            payload = Signal(range(self.packet_in_bytes + 1), name="packet_in_length")

        stored = Stored()
        wr = memory.write_port()
        cpu_in = self.cpu_in
        fill = Signal(range(self.packet_in_bytes + 1))
        overflow = Signal()
        m.d.comb += [
            cpu_in.ready.eq(~stored.valid),
            wr.addr.eq(fill),
            wr.data.eq(cpu_in.payload.data[:8]),
        ]
        with m.If(stored.ready):
            m.d.sync += stored.valid.eq(0)
        with m.If(cpu_in.valid & cpu_in.ready):
            has_byte = cpu_in.payload.keep[0]
            room = fill < self.packet_in_bytes
            m.d.comb += wr.en.eq(has_byte & room)
            with m.If(has_byte & room):
                m.d.sync += fill.eq(fill + 1)
            with m.If(has_byte & ~room):
                m.d.sync += overflow.eq(1)
            with m.If(cpu_in.payload.last):
                m.d.sync += [fill.eq(0), overflow.eq(0)]
                total = fill + has_byte
                with m.If(overflow | (has_byte & ~room) | (total == 0)):
                    m.d.sync += self.packet_ins_dropped.eq(self.packet_ins_dropped + 1)
                with m.Else():
                    m.d.sync += [stored.valid.eq(1), stored.payload.eq(total)]
        return stored
