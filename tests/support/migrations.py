"""The migration chain as the migration tests walk it: its revisions, and a database
upgraded to one of them (from a chain in `versions`, the shipped one by default)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine

from aggregator.store.migrate import VERSIONS, alembic_config, load_chain

CHAIN = load_chain(alembic_config())


def to(engine: Engine, revision: str, versions: tuple[Path, ...] = (VERSIONS,)) -> None:
    config = alembic_config(versions)
    with engine.begin() as c:
        config.attributes["connection"] = c
        command.upgrade(config, revision)
