"""Expand/contract migrations on SQLite and PostgreSQL: every expand migration only adds,
`migrate` stops before a contract one, `--contract` waits for the old code to be gone."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Column, Connection, Engine, MetaData, create_engine, inspect, select, text

from aggregator.core.errors import StoreError
from aggregator.store import open_store
from aggregator.store.database import create_store_engine, status, upgrade
from aggregator.store.migrate import (
    VERSIONS,
    Migration,
    alembic_config,
    code_head,
    process_tag,
)
from tests.support.migrations import CHAIN, to
from tests.support.processes import aggregator


@dataclass(frozen=True)
class TableShape:
    columns: dict[str, tuple[str, bool, bool]]  # name -> (type, nullable, server default)
    primary_key: tuple[str, ...]
    indexes: dict[str, tuple[tuple[str, ...], bool]]  # name -> (columns, unique)
    uniques: frozenset[tuple[str, ...]]
    foreign_keys: frozenset[tuple[tuple[str, ...], str]]


def shape(connection: Connection) -> dict[str, TableShape]:
    found = inspect(connection)
    tables = {}
    for table in set(found.get_table_names()) - {"alembic_version"}:
        columns = {
            c["name"]: (
                str(c["type"].compile(dialect=connection.dialect)),
                bool(c["nullable"]),
                c.get("default") is not None,
            )
            for c in found.get_columns(table)
        }
        tables[table] = TableShape(
            columns=columns,
            primary_key=tuple(found.get_pk_constraint(table)["constrained_columns"]),
            indexes={
                str(i["name"]): (tuple(map(str, i["column_names"])), bool(i["unique"]))
                for i in found.get_indexes(table)
            },
            uniques=frozenset(
                tuple(u["column_names"]) for u in found.get_unique_constraints(table)
            ),
            foreign_keys=frozenset(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in found.get_foreign_keys(table)
            ),
        )
    return tables


def narrowings(before: dict[str, TableShape], after: dict[str, TableShape]) -> list[str]:
    """What an expand migration did that code written before it may trip over."""
    problems = [f"dropped table {t}" for t in before if t not in after]
    for name in before.keys() & after.keys():
        problems += _narrowed_table(name, before[name], after[name])
    return problems


def _narrowed_table(table: str, old: TableShape, new: TableShape) -> list[str]:
    problems = []
    for column, (kind, nullable, _) in old.columns.items():
        if column not in new.columns:
            problems.append(f"dropped column {table}.{column}")
        elif new.columns[column][0] != kind:
            problems.append(f"retyped {table}.{column}: {kind} -> {new.columns[column][0]}")
        elif nullable and not new.columns[column][1]:
            problems.append(f"made {table}.{column} NOT NULL")
    for column, (_, nullable, server_default) in new.columns.items():
        if column not in old.columns and not nullable and not server_default:
            problems.append(f"new NOT NULL column {table}.{column} without a server default")
    if new.primary_key != old.primary_key:
        problems.append(f"changed the primary key of {table}: {new.primary_key}")
    problems += [f"dropped index {i}" for i in old.indexes if i not in new.indexes]
    problems += [f"dropped unique {table}({', '.join(u)})" for u in old.uniques - new.uniques]
    old_uniques = {cols for cols, unique in old.indexes.values() if unique} | old.uniques
    new_uniques = {cols for cols, unique in new.indexes.values() if unique} | new.uniques
    problems += [
        f"new unique {table}({', '.join(u)}) on old columns"
        for u in new_uniques - old_uniques
        if set(u) <= old.columns.keys()
    ]
    problems += [
        f"new foreign key {table}({', '.join(cols)}) -> {target} on old columns"
        for cols, target in new.foreign_keys - old.foreign_keys
        if set(cols) <= old.columns.keys()
    ]
    return problems


def old_row(column: Column[Any], n: int) -> object:
    """The value a release that knew this column would write: NULL where it may."""
    if column.nullable and not column.primary_key:
        return None
    values: dict[type, object] = {
        int: n,
        float: float(n),
        str: f"v{n}",
        bytes: b"v",
        datetime: datetime(2026, 1, 1) + timedelta(days=n),
    }
    return values[column.type.python_type]


def insert_as_old_code(engine: Engine, tables: MetaData, n: int) -> None:
    """Insert and read back a row in every table through only the columns `tables` knew."""
    with engine.begin() as c:
        for table in tables.sorted_tables:
            c.execute(table.insert().values({col.name: old_row(col, n) for col in table.c}))
            key = table.primary_key.columns.values()[0]
            assert c.execute(select(*table.c).where(key == old_row(key, n))).one()


def back_to(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as c:
        config.attributes["connection"] = c
        command.downgrade(config, revision)


def _index(revision: str) -> int:
    return [m.revision for m in CHAIN].index(revision)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = create_store_engine(database_url)
    yield created
    created.dispose()


def test_every_migration_declares_its_phase() -> None:
    undeclared = [m.revision for m in CHAIN if not m.declared]
    assert undeclared == [], "declare phase = 'expand' or 'contract' (README: Upgrading)"
    assert CHAIN[-1].revision == code_head()


@pytest.mark.slow
def test_expand_migrations_only_add_and_old_inserts_still_work(engine: Engine) -> None:
    for n, migration in enumerate(CHAIN, start=1):
        with engine.connect() as c:
            before, previous = shape(c), MetaData()
            previous.reflect(c)
        if "alembic_version" in previous.tables:
            previous.remove(previous.tables["alembic_version"])
        to(engine, migration.revision)
        if migration.phase == "contract":
            continue
        with engine.connect() as c:
            problems = narrowings(before, shape(c))
        assert problems == [], f"expand migration {migration.revision} narrowed the schema"
        insert_as_old_code(engine, previous, n)


def test_the_checker_catches_a_migration_that_narrows(engine: Engine, tmp_path: Path) -> None:
    open_store(engine.url.render_as_string(hide_password=False)).engine.dispose()
    write_migration(tmp_path, "bad", code_head(), "expand", BAD)
    with engine.connect() as c:
        before = shape(c)
    to(engine, "bad", (VERSIONS, tmp_path))
    with engine.connect() as c:
        problems = narrowings(before, shape(c))
    assert sorted(problems) == [
        "dropped column entries.author",
        "made entries.url NOT NULL",
        "new NOT NULL column events.weight without a server default",
        "new unique kept_apart(source) on old columns",
    ]


BAD = """
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("author")
        batch.alter_column("url", existing_type=sa.Text(), nullable=False)
    op.add_column("events", sa.Column("weight", sa.Integer, nullable=False))
    op.create_index("ix_kept_apart_source", "kept_apart", ["source"], unique=True)
"""
PROBE = """
    op.create_table(
        "migrate_probe",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kept", sa.Text),
        sa.Column("legacy", sa.Text),
    )
"""
DROP_LEGACY = """
    with op.batch_alter_table("migrate_probe") as batch:
        batch.drop_column("legacy")
"""
INDEX_KEPT = """
    op.create_index("ix_migrate_probe_kept", "migrate_probe", ["kept"])
"""


def write_migration(folder: Path, revision: str, parent: str, phase: str, body: str) -> None:
    head = [
        f'"""Throwaway {phase} migration {revision} for tests."""',
        "import sqlalchemy as sa",
        "from alembic import op",
        f"revision = {revision!r}",
        f"down_revision = {parent!r}",
        f"phase = {phase!r}",
        "def upgrade() -> None:",
    ]
    source = "\n".join(head) + "\n" + textwrap.indent(textwrap.dedent(body).strip(), "    ")
    (folder / f"{revision}.py").write_text(source + "\n", encoding="utf-8")


@pytest.fixture
def contract_ahead(tmp_path: Path) -> tuple[Path, ...]:
    """The shipped versions followed by expand x1, contract x2 and expand x3."""
    write_migration(tmp_path, "x1", code_head(), "expand", PROBE)
    write_migration(tmp_path, "x2", "x1", "contract", DROP_LEGACY)
    write_migration(tmp_path, "x3", "x2", "expand", INDEX_KEPT)
    return (VERSIONS, tmp_path)


def probe_columns(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return [col["name"] for col in inspect(c).get_columns("migrate_probe")]


def revisions(migrations: tuple[Migration, ...]) -> list[str]:
    return [m.revision for m in migrations]


def test_migrate_stops_before_a_contract_migration(
    engine: Engine, contract_ahead: tuple[Path, ...]
) -> None:
    open_store(engine.url.render_as_string(hide_password=False)).engine.dispose()
    expanded = upgrade(engine, versions=contract_ahead)
    assert revisions(expanded.applied) == ["x1"]
    assert revisions(expanded.held_back) == ["x2", "x3"]
    assert probe_columns(engine) == ["id", "kept", "legacy"]
    assert upgrade(engine, versions=contract_ahead).applied == ()
    on_sqlite = engine.dialect.name == "sqlite"
    if on_sqlite:
        with pytest.raises(StoreError, match="SQLite: other processes cannot be seen"):
            upgrade(engine, contract=True, versions=contract_ahead)
    contracted = upgrade(engine, contract=True, confirmed=on_sqlite, versions=contract_ahead)
    assert revisions(contracted.applied) == ["x2", "x3"]
    assert probe_columns(engine) == ["id", "kept"]
    assert contracted.report()[-1] == "revision: x3"


def test_contract_waits_for_processes_of_older_code(
    postgres_url: str, contract_ahead: tuple[Path, ...]
) -> None:
    open_store(postgres_url).engine.dispose()
    engine = create_store_engine(postgres_url)
    upgrade(engine, versions=contract_ahead)
    current_code = create_store_engine(postgres_url)  # tagged with the shipped head
    newer_code = create_engine(postgres_url, connect_args={"application_name": process_tag("x3")})
    try:
        with current_code.connect() as old, newer_code.connect():
            old_pid = old.execute(text("SELECT pg_backend_pid()")).scalar()
            _, processes = status(engine, contract_ahead)
            assert sorted(p.head for p in processes) == sorted([code_head(), "x3"])
            with pytest.raises(
                StoreError, match=f"1 process.*pid {old_pid} .*code at {code_head()}"
            ):
                upgrade(engine, contract=True, versions=contract_ahead)
            assert probe_columns(engine) == ["id", "kept", "legacy"]
        current_code.dispose()  # the process stops: its pooled connections close
        contracted = upgrade(engine, contract=True, versions=contract_ahead)
        assert revisions(contracted.applied) == ["x2", "x3"]
    finally:
        for each in (engine, current_code, newer_code):
            each.dispose()


def test_old_code_starts_beside_a_schema_it_does_not_know(
    database_url: str, tmp_path: Path
) -> None:
    open_store(database_url).engine.dispose()
    old_versions = tmp_path / "versions"
    shutil.copytree(VERSIONS, old_versions, ignore=shutil.ignore_patterns("__pycache__"))
    (newest,) = old_versions.glob(f"{code_head()}_*.py")
    newest.unlink()
    old = create_store_engine(database_url)
    try:
        outcome = upgrade(old, versions=(old_versions,))
        assert outcome.applied == () and not outcome.plan.known
        assert outcome.report() == [
            f"revision: {code_head()} is newer than this code (head {CHAIN[-2].revision}); "
            "nothing applied"
        ]
    finally:
        old.dispose()


@pytest.mark.slow
def test_migrate_command_status_expand_then_contract(tmp_path: Path) -> None:
    contracts = [m for m in CHAIN if m.phase == "contract"]
    if not contracts:
        pytest.skip("no contract migration in the chain")
    parent = CHAIN[_index(contracts[-1].revision) - 1].revision
    url = f"sqlite:///{tmp_path / 'agg.sqlite'}"
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[service]\ndatabase_url = "{url}"\n[[stories]]\nid = "s"\n')
    open_store(url).engine.dispose()
    engine = create_store_engine(url)
    back_to(engine, parent)
    open_store(url).engine.dispose()  # a start applies no contract migration

    def migrate(*args: str) -> subprocess.CompletedProcess[str]:
        return aggregator("--config", str(config), "migrate", *args)

    shown = migrate("--status").stdout
    pending = " ".join(m.revision for m in CHAIN[_index(parent) + 1 :])
    assert shown.splitlines()[:2] == [f"revision: {parent} (code head: {code_head()})", "pending:"]
    assert f"\n  {contracts[-1].revision} contract: " in shown
    assert "\n`aggregator migrate` applies: nothing\n" in shown
    assert f"\n`aggregator migrate --contract` applies: {pending}\n" in shown
    assert migrate().stdout.startswith(
        f"nothing to apply\nrevision: {parent}\nheld back: {pending}"
    )
    refused = migrate("--contract")
    assert refused.returncode == 1 and "--contract --yes" in refused.stderr
    done = migrate("--contract", "--yes")
    assert done.returncode == 0 and done.stdout.endswith(f"revision: {code_head()}\n")
    assert status(engine)[0].pending == ()
    engine.dispose()
