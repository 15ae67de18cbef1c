"""The scripted teacher of `tests.construct_teacher` as a fixture."""

from __future__ import annotations

import pytest

from tests.construct_teacher import ScriptedEndpoint


@pytest.fixture
def teacher() -> ScriptedEndpoint:
    return ScriptedEndpoint()
