"""EDGE: the WebSub subscriptions table.

One row per (source, hub); the callback token finds a row when a hub calls back.
Decisions about rows live in aggregator.websub.rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from aggregator.store.roles import SubscriptionStore
from aggregator.store.schema import websub_subscriptions as table
from aggregator.websub.rules import State, Subscription


class Subscriptions:
    """Reads and writes of websub_subscriptions, through the store's connections (so
    SQLite writers of this process still queue on one lock)."""

    def __init__(self, store: SubscriptionStore) -> None:
        self.connections = store.connections

    def all(self) -> list[Subscription]:
        with self.connections.reading() as c:
            rows = c.execute(select(table).order_by(table.c.id)).all()
        return [_subscription(r) for r in rows]

    def by_token(self, token: str) -> Subscription | None:
        with self.connections.reading() as c:
            row = c.execute(select(table).where(table.c.token == token)).first()
        return None if row is None else _subscription(row)

    def for_source(self, source: str) -> list[Subscription]:
        with self.connections.reading() as c:
            rows = c.execute(select(table).where(table.c.source == source)).all()
        return [_subscription(r) for r in rows]

    def save_pending(self, wanted: Subscription, now: datetime) -> Subscription:
        """Record a subscription request about to be sent. A row for the same source and
        hub keeps its token and secret (the callback the hub knows) and turns pending."""
        with self.connections.writing() as c:
            where = (table.c.source == wanted.source) & (table.c.hub == wanted.hub)
            changed = c.execute(
                update(table)
                .where(where)
                .values(topic=wanted.topic, state="pending", updated_at=now)
            )
            if not changed.rowcount:
                c.execute(
                    insert(table).values(
                        source=wanted.source,
                        hub=wanted.hub,
                        topic=wanted.topic,
                        token=wanted.token,
                        secret=wanted.secret,
                        state="pending",
                        created_at=now,
                        updated_at=now,
                    )
                )
            row = c.execute(select(table).where(where)).one()
        return _subscription(row)

    def activate(
        self, token: str, lease_seconds: int, lease_until: datetime, now: datetime
    ) -> None:
        self._update(
            token,
            now,
            state="active",
            lease_seconds=lease_seconds,
            lease_until=lease_until,
            polled_change_at=None,
        )

    def set_state(self, token: str, state: State, now: datetime) -> None:
        self._update(token, now, state=state)

    def touch(self, token: str, now: datetime) -> None:
        self._update(token, now)

    def record_request(self, token: str, error: str | None, now: datetime) -> None:
        """How the last request to the hub went: its failure in a few words, or None."""
        self._update(token, now, last_error=error, last_error_at=now if error else None)

    def record_push(self, token: str, now: datetime) -> None:
        self._update(token, now, last_push_at=now)

    def record_polled_change(self, source: str, now: datetime) -> None:
        with self.connections.writing() as c:
            c.execute(
                update(table)
                .where(table.c.source == source, table.c.state == "active")
                .values(polled_change_at=now)
            )

    def delete(self, token: str) -> None:
        with self.connections.writing() as c:
            c.execute(delete(table).where(table.c.token == token))

    def _update(self, token: str, now: datetime, **values: Any) -> None:
        with self.connections.writing() as c:
            c.execute(update(table).where(table.c.token == token).values(updated_at=now, **values))


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        source=row.source,
        hub=row.hub,
        topic=row.topic,
        token=row.token,
        secret=row.secret,
        state=row.state,
        lease_seconds=row.lease_seconds,
        lease_until=row.lease_until,
        last_push_at=row.last_push_at,
        polled_change_at=row.polled_change_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_error=row.last_error,
    )
