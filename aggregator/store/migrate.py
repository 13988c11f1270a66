"""Expand/contract migrations: which pending Alembic revisions may be applied now.

Every migration module declares a phase. `expand` only adds (tables, indexes, columns
that are nullable or have a server default), so code of the previous release keeps
working beside it. `contract` drops or reshapes what an earlier release stopped using,
so it waits until no process runs code that predates it. Alembic has no phases: `plan`
walks the chain from the database's revision and `Plan.applying` stops before the first
pending contract migration unless contracting was asked for (or the database is empty,
where no old code can be reading).

Which code is running is seen in PostgreSQL itself: every connection of the store
engine names the newest migration its code knows in `application_name`
(`aggregator@0007`), and `live_processes` reads them from pg_stat_activity. A live
process holds at least its pooled connection, and a dead one's connections go away.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from aggregator.core.errors import StoreError
from aggregator.store.renumbered import actual_revision

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
TAG_PREFIX = "aggregator@"
Phase = Literal["expand", "contract"]


@dataclass(frozen=True)
class Migration:
    revision: str
    phase: Phase
    summary: str
    declared: bool = True  # False: the module has no `phase`, so it is taken as contract


@dataclass(frozen=True)
class Process:
    """Another connection to the database, tagged by the code that opened it."""

    pid: int
    client: str
    head: str


@dataclass(frozen=True)
class Plan:
    """The code's chain (base first) and where the database stands on it."""

    chain: tuple[Migration, ...]
    current: str | None

    @property
    def head(self) -> str:
        return self.chain[-1].revision

    @property
    def known(self) -> bool:
        """False when the database is at a revision this code has never heard of."""
        return self.current is None or any(m.revision == self.current for m in self.chain)

    @property
    def pending(self) -> tuple[Migration, ...]:
        if not self.known:
            return ()
        revisions = [m.revision for m in self.chain]
        start = 0 if self.current is None else revisions.index(self.current) + 1
        return self.chain[start:]

    def applying(self, *, contract: bool) -> tuple[Migration, ...]:
        """What to apply now: all pending ones when contracting or on an empty database,
        else the pending expand migrations before the first pending contract one."""
        if contract or self.current is None:
            return self.pending
        ready: list[Migration] = []
        for migration in self.pending:
            if migration.phase == "contract":
                break
            ready.append(migration)
        return tuple(ready)

    def knows(self, head: str, revision: str) -> bool:
        """Whether code whose newest migration is `head` was written with `revision` in
        place. A head this code does not know is newer code, which knows all of ours."""
        revisions = [m.revision for m in self.chain]
        if head not in revisions:
            return True
        return revisions.index(head) >= revisions.index(revision)


@dataclass(frozen=True)
class Upgrade:
    """What one upgrade found and applied; `held_back` waits for `--contract`;
    `restamped`: the version row's (old, new) id, for a store stopped inside the
    renumbering (store/renumbered.py)."""

    plan: Plan
    applied: tuple[Migration, ...]
    restamped: tuple[str, str] | None = None

    @property
    def held_back(self) -> tuple[Migration, ...]:
        return self.plan.pending[len(self.applied) :]

    def report(self) -> list[str]:
        """What `aggregator migrate` prints."""
        if not self.plan.known:
            return [_ahead(self.plan)]
        at = self.applied[-1].revision if self.applied else self.plan.current
        lines = []
        if self.restamped:
            old, new = self.restamped
            lines.append(f"re-stamped: version row {old} -> {new} (the chain was renumbered)")
        lines += [f"applied {_line(m)}" for m in self.applied] or ["nothing to apply"]
        lines.append(f"revision: {at}")
        if self.held_back:
            held = " ".join(m.revision for m in self.held_back)
            lines.append(
                f"held back: {held} (from contract migration {self.held_back[0].revision}); "
                "roll out the new code, then run `aggregator migrate --contract`"
            )
        return lines


def status_report(plan: Plan, processes: Sequence[Process]) -> list[str]:
    """What `aggregator migrate --status` prints."""
    if not plan.known:
        return [_ahead(plan)]
    lines = [f"revision: {plan.current or 'none (empty database)'} (code head: {plan.head})"]
    lines.append("pending:" if plan.pending else "pending: none")
    lines += [f"  {_line(m)}" for m in plan.pending]
    if plan.pending:
        for flag, contract in (("", False), (" --contract", True)):
            now = " ".join(m.revision for m in plan.applying(contract=contract)) or "nothing"
            lines.append(f"`aggregator migrate{flag}` applies: {now}")
    lines += [f"process: pid {p.pid} from {p.client}, code at {p.head}" for p in processes]
    return lines


def _line(migration: Migration) -> str:
    undeclared = "" if migration.declared else " (no phase declared)"
    summary = migration.summary if len(migration.summary) <= 72 else migration.summary[:71] + "…"
    return f"{migration.revision} {migration.phase}{undeclared}: {summary}"


def _ahead(plan: Plan) -> str:
    return f"revision: {plan.current} is newer than this code (head {plan.head}); nothing applied"


def alembic_config(versions: Sequence[Path] = (VERSIONS,)) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    locations = os.pathsep.join(str(path) for path in versions)
    config.set_main_option("version_locations", locations.replace("%", "%%"))
    return config


def load_chain(config: Config) -> tuple[Migration, ...]:
    """Every migration, base first, with its declared phase."""
    scripts = ScriptDirectory.from_config(config)
    if len(scripts.get_heads()) != 1:
        raise StoreError(f"migrations must form one chain; heads: {scripts.get_heads()}")
    found = []
    for script in scripts.walk_revisions():
        declared = getattr(script.module, "phase", None)
        phase: Phase = "expand" if declared == "expand" else "contract"
        found.append(
            Migration(
                revision=script.revision,
                phase=phase,
                summary=" ".join(script.doc.split()),
                declared=declared in ("expand", "contract"),
            )
        )
    return tuple(reversed(found))


def plan(connection: Connection, config: Config) -> Plan:
    """Where the database stands: the revision its schema is at, which for a store
    stopped inside the renumbering is not the one its version row names."""
    recorded = MigrationContext.configure(connection).get_current_revision()
    return Plan(load_chain(config), actual_revision(connection, recorded))


@cache
def code_head() -> str:
    """The newest migration this code knows: what its processes are tagged with."""
    return load_chain(alembic_config())[-1].revision


def process_tag(head: str) -> str:
    return f"{TAG_PREFIX}{head}"


def live_processes(connection: Connection) -> list[Process]:
    """Other tagged connections to this PostgreSQL database; [] on SQLite."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(
        text(
            "SELECT pid, COALESCE(host(client_addr), 'local'), application_name "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name LIKE :tagged ORDER BY pid"
        ),
        {"tagged": f"{TAG_PREFIX}%"},
    ).all()
    return [Process(pid, client, name.removeprefix(TAG_PREFIX)) for pid, client, name in rows]


def check_contract(connection: Connection, plan: Plan, applying: Sequence[Migration]) -> None:
    """Refuse to contract while a process runs code written before a contract migration."""
    contracts = [m for m in applying if m.phase == "contract"]
    if not contracts:
        return
    if connection.dialect.name != "postgresql":
        raise StoreError(
            "contract migrations on SQLite: other processes cannot be seen; stop every "
            "process of the old code, then run `aggregator migrate --contract --yes`"
        )
    last = contracts[-1].revision
    older = [p for p in live_processes(connection) if not plan.knows(p.head, last)]
    if older:
        listed = ", ".join(f"pid {p.pid} from {p.client} (code at {p.head})" for p in older)
        raise StoreError(
            f"not contracting: {len(older)} process(es) still run code that predates "
            f"{last}: {listed}. Roll out the new code first, or stop them "
            "and rerun with --yes"
        )
