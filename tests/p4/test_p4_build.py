"""The committed p4/build/ outputs are what p4/router.p4 compiles to today."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

import pytest

from sim.bmv2.compile import COMMITTED, compile_router, compiler_binary

pytestmark = [
    pytest.mark.p4c,
    pytest.mark.skipif(  # p4c-bm2-ss absent
        compiler_binary() is None, reason="p4c-bm2-ss is not on PATH (needed to recompile; see docs/p4.md)"
    ),
]


def _normalized(bmv2_json: Any) -> Any:
    """The JSON with where p4c's own include files live taken out of the source info."""
    if isinstance(bmv2_json, dict):
        return {
            key: PurePath(value).name if key == "filename" else _normalized(value)
            for key, value in bmv2_json.items()
        }
    if isinstance(bmv2_json, list):
        return [_normalized(item) for item in bmv2_json]
    return bmv2_json


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory):
    return compile_router(tmp_path_factory.mktemp("p4build"))


STALE = "run `make p4` and commit p4/build/"


def test_committed_p4info_is_current(fresh_build):
    assert COMMITTED.p4info.exists(), f"{COMMITTED.p4info} is missing: {STALE}"
    assert COMMITTED.p4info.read_text() == fresh_build.p4info.read_text(), (
        f"{COMMITTED.p4info} is stale: {STALE}"
    )


def test_committed_bmv2_json_is_current(fresh_build):
    assert COMMITTED.bmv2_json.exists(), f"{COMMITTED.bmv2_json} is missing: {STALE}"
    committed = _normalized(json.loads(COMMITTED.bmv2_json.read_text()))
    fresh = _normalized(json.loads(fresh_build.bmv2_json.read_text()))
    assert committed == fresh, f"{COMMITTED.bmv2_json} is stale: {STALE}"
