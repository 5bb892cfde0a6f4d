"""Fixtures of the P4 tests."""

from __future__ import annotations

import pytest

from .builds import Builds


@pytest.fixture(scope="session")
def router_builds(tmp_path_factory):
    """``router_builds(num_ports)``: the committed build for the default port count, compiled otherwise."""
    return Builds(tmp_path_factory)
