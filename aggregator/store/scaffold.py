"""`aggregator migrate --new NAME`: a new migration file, from the template
(migrations/script.py.mako), numbered next on the chain and written on its head."""

from __future__ import annotations

import string
from argparse import Namespace
from pathlib import Path

from alembic import command
from alembic.util import CommandError

from aggregator.core.errors import StoreError
from aggregator.store.migrate import VERSIONS, alembic_config, load_chain

# Alembic cuts a longer slug short in the file name; refuse it instead.
MAX_SLUG = 40
_ALLOWED = frozenset(string.ascii_lowercase + string.digits)


def migration_slug(name: str) -> str:
    """NAME as it goes in the file name: lower-case ASCII words joined by "_". Words
    are separated by spaces, "-" or "_"; anything else is a ValueError."""
    words = name.replace("-", " ").replace("_", " ").lower().split()
    if not words or any(not set(word) <= _ALLOWED for word in words):
        raise ValueError(
            f"not a migration name: {name!r} (ASCII letters and digits, words apart by "
            "spaces, - or _)"
        )
    slug = "_".join(words)
    if len(slug) > MAX_SLUG:
        raise ValueError(f"migration name too long: {slug} ({len(slug)} > {MAX_SLUG})")
    return slug


def write_migration(name: str, versions: Path = VERSIONS) -> Path:
    """Write NNNN_<slug>.py into `versions`: the next number, down_revision the head,
    phase expand (the template's). Returns its path."""
    slug = migration_slug(name)
    config = alembic_config((versions,))
    config.cmd_opts = Namespace(quiet=True)  # the path is the caller's to print
    chain = load_chain(config)
    head = chain[-1].revision
    if head != f"{len(chain):04d}":
        raise StoreError(
            f"the chain's numbering is off: its head is {head} after {len(chain)} "
            "migrations; tests/integration/test_migration_chain.py says where"
        )
    revision = f"{len(chain) + 1:04d}"
    message = slug.replace("_", " ").capitalize() + "."
    try:
        script = command.revision(
            config, message=message, head=head, rev_id=revision, version_path=str(versions)
        )
    except (CommandError, OSError) as e:
        raise StoreError(f"cannot write migration {revision}: {e}") from e
    assert script is not None and not isinstance(script, list)  # one head, one script
    return Path(script.path)
