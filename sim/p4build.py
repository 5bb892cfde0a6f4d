"""The committed outputs of compiling p4/router.p4 (see docs/p4.md)."""

from __future__ import annotations

from pathlib import Path

from finsy.proto.p4.config.v1 import p4info_pb2
from google.protobuf import text_format

P4_DIR = Path(__file__).resolve().parent.parent / "p4"
P4INFO_PATH = P4_DIR / "build" / "router.p4info.txtpb"
BMV2_JSON_PATH = P4_DIR / "build" / "router.json"


def load_p4info(path: Path = P4INFO_PATH) -> p4info_pb2.P4Info:
    return text_format.Parse(path.read_text(), p4info_pb2.P4Info())
