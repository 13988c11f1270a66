"""The migration chain stays in order and on its own: walking from the base, the n-th
migration is f"{n:04d}", in a file named after it, on the one before, with one head; a
migration imports nothing of the package but the frozen helpers beside it; and
`aggregator migrate --new NAME` writes the next one."""

from __future__ import annotations

import ast
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import sqlite

from aggregator.cli.main import main
from aggregator.core.errors import StoreError
from aggregator.dedupe import similarity
from aggregator.store import schema
from aggregator.store.migrate import MIGRATIONS, VERSIONS, alembic_config, load_chain
from aggregator.store.migrations import frozen
from aggregator.store.scaffold import migration_slug, write_migration

FROZEN = "aggregator.store.migrations.frozen"
# What a migration may import: the frozen helpers and these top-level modules.
ALLOWED = frozenset({"alembic", "sqlalchemy", *sys.stdlib_module_names})


def imported(path: Path) -> list[str]:
    """Every module `path` imports, as written (relative ones with their dots)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def chain_problems(versions: Path) -> list[str]:
    """How the chain in `versions` disagrees with its numbering; [] when it does not."""
    scripts = ScriptDirectory.from_config(alembic_config((versions,)))
    heads = scripts.get_heads()
    problems = [] if len(heads) == 1 else [f"heads {sorted(heads)}: the chain must have one"]
    walked = list(reversed(list(scripts.walk_revisions())))
    for n, script in enumerate(walked, start=1):
        path = Path(script.path)
        if script.revision != f"{n:04d}":
            problems.append(f"migration {n} from the base is {script.revision}, not {n:04d}")
        if not path.name.startswith(f"{script.revision}_"):
            problems.append(f"{path.name} does not start with its revision {script.revision}_")
        previous = walked[n - 2].revision if n > 1 else None
        if script.down_revision != previous:
            problems.append(f"{script.revision} revises {script.down_revision}, not {previous}")
        problems += [
            f"{path.name} imports {name}"
            for name in imported(path)
            if name != FROZEN and name.split(".")[0] not in ALLOWED
        ]
    return problems


def test_the_chain_is_numbered_in_order_and_imports_only_frozen_code() -> None:
    assert chain_problems(VERSIONS) == []
    assert [name for name in imported(MIGRATIONS / "frozen.py") if "aggregator" in name] == []


def _write(folder: Path, file: str, revision: str, parent: str, *imports: str) -> None:
    lines = [*imports, f"revision = {revision!r}", f"down_revision = {parent!r}", ""]
    (folder / file).write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    """A copy of the shipped versions folder, to add to."""
    copy = tmp_path / "versions"
    shutil.copytree(VERSIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_chain_check_catches_misnumbering_and_live_imports(versions: Path) -> None:
    head = load_chain(alembic_config((versions,)))[-1].revision
    after = f"{int(head) + 1:04d}"
    skipped = f"{int(head) + 2:04d}"
    live = "from aggregator.dedupe.similarity import band_keys"
    _write(versions, f"{after}_late.py", skipped, head, live, "import numpy")
    assert chain_problems(versions) == [
        f"migration {int(after)} from the base is {skipped}, not {after}",
        f"{after}_late.py does not start with its revision {skipped}_",
        f"{after}_late.py imports aggregator.dedupe.similarity",
        f"{after}_late.py imports numpy",
    ]
    _write(versions, f"{skipped}_beside.py", f"{skipped}b", head)
    assert (
        chain_problems(versions)[0]
        == f"heads {sorted([skipped, skipped + 'b'])}: the chain must have one"
    )


TEXTS = [
    ("Bridge shut", " ".join(["The Kell bridge was shut to traffic after the flood."] * 5)),
    (
        "<b>Evidence</b> &amp; “quotes”",
        "Jane Hale&#8217;s evidence — at 2.30pm — <p>was heard</p> &#0000000000000065; "
        + " ".join(f"word{i}" for i in range(40))
        + " <unclosed",
    ),
    ("", "Too short to sign"),
]


def test_the_frozen_helpers_agree_with_the_live_code_they_were_copied_from() -> None:
    """A failure means the live code now signs or indexes copies differently from what
    the migrations stored: the stores need a migration that re-signs them, with a new
    frozen copy for it, not an edit to the old one."""
    for title, text in TEXTS:
        assert frozen.body_words(text) == similarity.body_words(text)
        assert frozen.shingles(title, text) == similarity.shingles(title, text)
        signature = frozen.signature_of(frozen.shingles(title, text))
        assert signature == similarity.signature_of(similarity.shingles(title, text))
        assert frozen.band_keys(signature) == similarity.band_keys(signature)
    assert frozen.MIN_BODY_WORDS == similarity.MIN_BODY_WORDS
    late = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)
    assert frozen.band_day(late) == similarity.band_day(late)
    dialect = sqlite.dialect()
    for kind in (frozen.UTCDateTime(), schema.UTCDateTime()):
        stored = kind.process_bind_param(late, dialect)
        assert stored == datetime(2026, 11, 25, 23, 59)
        assert kind.process_result_value(stored, dialect) == late


def test_migrate_new_writes_the_next_migration(
    versions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = load_chain(alembic_config((versions,)))[-1].revision
    after = f"{int(head) + 1:04d}"
    assert main(["migrate", "--new", "Story archive", "--versions", str(versions)]) == 0
    written = versions / f"{after}_story_archive.py"
    assert Path(capsys.readouterr().out.strip()) == written
    chain = load_chain(alembic_config((versions,)))
    assert [(m.revision, m.phase, m.declared) for m in chain[-2:]] == [
        (head, chain[-2].phase, True),
        (after, "expand", True),
    ]
    assert chain_problems(versions) == []
    assert not (VERSIONS / written.name).exists()
    assert write_migration("second-one_2", versions).name == f"{int(after) + 1:04d}_second_one_2.py"


@pytest.mark.parametrize("name", ["", "  ", "bad/name", "ünïcode", "drop;table", "x" * 41])
def test_migrate_new_refuses_a_bad_name(
    name: str, versions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(versions.iterdir())
    with pytest.raises(SystemExit) as refused:
        main(["migrate", "--new", name, "--versions", str(versions)])
    assert refused.value.code == 2
    assert "argument --new:" in capsys.readouterr().err
    assert sorted(versions.iterdir()) == before
    with pytest.raises(ValueError):
        migration_slug(name)


def test_migrate_new_refuses_a_misnumbered_chain(versions: Path) -> None:
    head = load_chain(alembic_config((versions,)))[-1].revision
    _write(versions, "9999_odd.py", "9999", head)
    with pytest.raises(StoreError, match="numbering is off: its head is 9999"):
        write_migration("next", versions)


def test_versions_goes_with_new_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--versions", "somewhere"]) == 2
    assert capsys.readouterr().err == "error: --versions goes with --new\n"
