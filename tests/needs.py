"""Skip marks for the tests that need p4c's outputs (the only skips allowed besides BMv2's)."""

from __future__ import annotations

import pytest

from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH


def _missing(path) -> str:
    return f"{path.relative_to(path.parents[2])} is not built yet (needs p4c-bm2-ss: make p4)"


#: The P4Runtime tests need p4c's P4Info (committed once built; see docs/p4.md).
P4INFO_MISSING = _missing(P4INFO_PATH)
needs_p4info = pytest.mark.skipif(not P4INFO_PATH.exists(), reason=P4INFO_MISSING)  # p4c output
needs_bmv2_json = pytest.mark.skipif(not BMV2_JSON_PATH.exists(), reason=_missing(BMV2_JSON_PATH))
