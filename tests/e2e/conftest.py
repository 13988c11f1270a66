"""Every test of this tier runs whole processes or servers: all are marked `e2e`."""

from __future__ import annotations

from pathlib import Path

import pytest

TIER = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's hook sees the whole session's items, not only this folder's.
    for item in items:
        if TIER in item.path.parents:
            item.add_marker(pytest.mark.e2e)
