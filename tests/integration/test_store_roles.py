"""The Store as its parts compose it: every role its consumers are typed against, one
Connections shared by every part and by the subscriptions table, reads that never
commit, and no module reaching into another's private connection."""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, get_type_hints

import pytest
from sqlalchemy import create_engine, insert

from aggregator.store import Store, open_store, roles
from aggregator.store.connections import Part
from aggregator.store.schema import sources
from aggregator.store.subscriptions import Subscriptions
from aggregator.websub.rules import Subscription
from tests.support.builders import T0, source
from tests.support.paths import ROOT

# Every protocol roles.py declares, so that a role added there is checked here too.
ROLES = [
    value
    for value in vars(roles).values()
    if isinstance(value, type)
    and value.__module__ == roles.__name__
    and Protocol in value.__bases__
]
WANTED = Subscription(
    source="wire",
    hub="http://127.0.0.1:9/hub",
    topic="http://127.0.0.1:9/wire.atom",
    token="token-1",
    secret="secret-1",
    state="pending",
)
# A read of another object's private connection machinery (`self._open` is its own).
REACHING_IN = re.compile(r"(?<!self)\.(?:_connection|_open|_write_lock)\b")


def played_roles(store: Store) -> list[object]:
    """Store as each role; mypy checks each assignment, the test that every role is here."""
    decide: roles.DecideStore = store
    push: roles.PushStore = store
    poll: roles.PollStore = store
    worker: roles.WorkerStore = store
    subscribe: roles.SubscriptionStore = store
    callback: roles.CallbackStore = store
    view: roles.ViewStore = store
    stream: roles.StreamStore = store
    web: roles.WebStore = store
    return [decide, push, poll, worker, subscribe, callback, view, stream, web]


def members(role: type) -> set[str]:
    """The public names a role declares, its base roles' included."""
    declared = (vars(c) for c in role.__mro__ if c.__module__ == roles.__name__)
    return {name for names in declared for name in names if not name.startswith("_")}


def shape(function: Callable[..., object]) -> list[tuple[str, object, object]]:
    parameters = inspect.signature(function).parameters.values()
    return [(p.name, p.kind, p.default) for p in parameters]


@pytest.fixture
def unopened() -> Iterator[Store]:
    """A Store whose database is never reached: what it is made of, not what it holds."""
    engine = create_engine("sqlite://")
    yield Store(engine)
    engine.dispose()


def test_every_role_is_played_by_the_store_under_mypy(unopened: Store) -> None:
    assert len(ROLES) >= 9
    assert len(played_roles(unopened)) == len(ROLES)


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.__name__)
def test_the_store_has_each_roles_methods_with_their_parameters(
    unopened: Store, role: type
) -> None:
    assert isinstance(unopened, role)
    for name in members(role):
        wanted = getattr(role, name)
        if isinstance(wanted, property):
            assert wanted.fget is not None
            assert isinstance(getattr(unopened, name), get_type_hints(wanted.fget)["return"])
            continue
        assert shape(getattr(Store, name)) == shape(wanted), name


def test_the_store_is_only_its_parts_and_no_part_hides_another(unopened: Store) -> None:
    parts = Store.__bases__
    assert len(parts) >= 5 and all(issubclass(part, Part) for part in parts)
    assert [name for name in vars(Store) if not name.startswith("_")] == []
    # A method two parts define would answer from whichever comes first in the class line.
    named = [name for part in parts for name in vars(part) if not name.startswith("_")]
    assert len(named) == len(set(named))
    shared = unopened.connections
    assert all(part(shared).connections is shared for part in parts)


def test_a_read_connection_never_commits(store: Store) -> None:
    stray = insert(sources).values(
        name="stray", story="story", kind="feed", location="x", state="{}", error_count=0
    )
    with store.connections.reading() as c:
        c.execute(stray)
    assert store.source_health(["stray"]) == []
    with store.connections.writing() as c:
        c.execute(stray)
    assert [r.name for r in store.source_health(["stray"])] == ["stray"]


def test_subscriptions_go_through_the_stores_connections(store: Store) -> None:
    subscriptions = Subscriptions(store)
    assert subscriptions.connections is store.connections
    saved = subscriptions.save_pending(WANTED, T0)
    assert subscriptions.by_token("token-1") == saved
    assert subscriptions.for_source("wire") == [saved]
    subscriptions.delete("token-1")
    assert subscriptions.all() == []


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'test.sqlite'}")
    opened.sync_sources([source("gazette", "feed")])
    yield opened
    opened.engine.dispose()


WRITES: dict[str, Callable[[Store], object]] = {
    "schedule": lambda store: store.release("gazette"),
    "polls": lambda store: store.record_failure(source("gazette", "feed"), "down", T0, None),
    "subscriptions": lambda store: Subscriptions(store).save_pending(WANTED, T0),
}


@pytest.mark.parametrize("write", WRITES)
def test_every_sqlite_writer_queues_on_the_one_write_lock(sqlite_store: Store, write: str) -> None:
    # A write of its own connection would not wait: the held transaction wrote nothing
    # yet, so SQLite itself holds no lock.
    done = threading.Event()

    def run() -> None:
        WRITES[write](sqlite_store)
        done.set()

    thread = threading.Thread(target=run)
    with sqlite_store.connections.writing():
        thread.start()
        assert not done.wait(0.3)
    thread.join(10)
    assert done.is_set()


def test_no_module_reaches_into_a_private_connection() -> None:
    files = [*(ROOT / "aggregator").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    reaching = [
        f"{path.relative_to(ROOT)}: {match.group()}"
        for path in files
        if path.name != Path(__file__).name
        for match in REACHING_IN.finditer(path.read_text(encoding="utf-8"))
    ]
    assert reaching == []
