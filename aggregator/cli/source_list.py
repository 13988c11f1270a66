"""EDGE: a story's sources exchanged with other feed readers as OPML.

    import: OPML bytes --read_outlines--> outlines --plan--> new [[sources]] tables
            --appended as text to the config--> validated by config.load --> replaced
    export: the config's sources --render_opml--> OPML bytes

The config file is the operator's: its comments, order and spacing stay exactly as
they were; new sources are appended after a comment saying where they came from, and
the result must load before it replaces the file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import tomlkit

from aggregator.config import Settings, load
from aggregator.core.errors import ConfigError
from aggregator.core.types import KINDS, Kind, StorySpec
from aggregator.publish.opml import render_opml

if TYPE_CHECKING:
    from aggregator.parse.opml import Outline

_NOT_NAME = re.compile(r"[^a-z0-9]+")
_MAX_NAME = 40


@dataclass(frozen=True)
class Added:
    name: str
    kind: Kind
    url: str
    title: str


@dataclass(frozen=True)
class Skipped:
    what: str
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    added: tuple[Added, ...]
    skipped: tuple[Skipped, ...]


def add_command(commands: Any, config_of: Callable[[argparse.Namespace], Path]) -> None:
    """`aggregator sources import|export`."""
    group = commands.add_parser(
        "sources", help="import sources from OPML, or export a story's sources as OPML"
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    take = actions.add_parser(
        "import", help="add an OPML file's feeds as [[sources]], keeping the config's comments"
    )
    take.add_argument("opml", type=Path, metavar="FILE.opml")
    take.add_argument("--story", help="the story they follow (default: the only story)")
    take.add_argument("--kind", choices=KINDS, help="the kind of every source added")
    take.add_argument(
        "--dry-run", action="store_true", help="say what would be added; write nothing"
    )
    take.set_defaults(handler=lambda args: _import(args, config_of(args)))
    give = actions.add_parser("export", help="write a story's sources as OPML 2.0")
    give.add_argument("--story", help="whose sources (default: the only story)")
    give.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    give.set_defaults(handler=lambda args: _export(args, config_of(args)))


def _import(args: argparse.Namespace, config: Path) -> int:
    settings = load(config, os.environ)
    story = _story(settings, args.story, config)
    plan = plan_import(read_opml_file(args.opml), settings, args.kind)
    verb = "would add" if args.dry_run else "added"
    for source in plan.added:
        print(f"{verb} {source.name} ({source.kind}) {source.url}")
    for skipped in plan.skipped:
        print(f"skipped {skipped.what}: {skipped.reason}")
    if not args.dry_run:
        apply_import(config, plan, story, args.opml.name)
    print(f"{len(plan.added)} {verb}, {len(plan.skipped)} skipped, story {story.id}")
    return 0


def _export(args: argparse.Namespace, config: Path) -> int:
    settings = load(config, os.environ)
    story = _story(settings, args.story, config)
    # The config's titles only: the running service's /stories/ID.opml also knows each
    # source's own title, but a command should not open (or create) the store for it.
    listing = render_opml(story, settings.sources_of(story.id), settings.source_titles)
    if args.output:
        args.output.write_bytes(listing.body)
    else:
        sys.stdout.buffer.write(listing.body)
        sys.stdout.flush()
    if listing.local_count:
        note = f"{listing.local_count} local file source(s) left out: OPML lists addresses"
        print(note, file=sys.stderr)
    return 0


def _story(settings: Settings, wanted: str | None, config: Path) -> StorySpec:
    if wanted is not None:
        return settings.named_story(wanted)
    if len(settings.stories) == 1:
        return settings.stories[0]
    known = ", ".join(s.id for s in settings.stories)
    raise ConfigError(str(config), "[[stories]]", f"--story is needed (stories: {known})")


def plan_import(outlines: Sequence[Outline], settings: Settings, kind: Kind | None) -> ImportPlan:
    """Which outlines become sources, under which names; the rest with the reason."""
    known_urls = {s.url for s in settings.sources if s.url}
    names = {s.name for s in settings.sources}
    added: list[Added] = []
    skipped: list[Skipped] = []
    for outline in outlines:
        chosen = _kind_and_url(outline, kind)
        what = outline.title or outline.xml_url or outline.html_url or "?"
        if isinstance(chosen, Skipped):
            skipped.append(Skipped(what, chosen.reason))
            continue
        source_kind, url = chosen
        if url in known_urls:
            skipped.append(Skipped(what, f"already in the config: {url}"))
            continue
        name = _unique_name(outline.title or urlsplit(url).hostname or "source", names)
        names.add(name)
        known_urls.add(url)
        added.append(Added(name, source_kind, url, outline.title))
    return ImportPlan(tuple(added), tuple(skipped))


def apply_import(config: Path, plan: ImportPlan, story: StorySpec, origin: str) -> None:
    """Append the plan's sources to `config`; the file is replaced only if it loads."""
    if not plan.added:
        return
    original = config.read_text(encoding="utf-8")
    addition = _as_toml(plan.added, story)
    separator = "" if original.endswith("\n") or not original else "\n"
    edited = f"{original}{separator}\n# Added by `aggregator sources import` from {origin}\n"
    edited += addition
    _replace_if_valid(config, edited)


def read_opml_file(path: Path) -> list[Outline]:
    # Imported here: lxml is the import command's, not every `aggregator` command's.
    from aggregator.parse.opml import OpmlError, read_outlines

    try:
        return read_outlines(path.read_bytes())
    except OSError as e:
        raise ConfigError(str(path), "", f"cannot read: {e.strerror or e}") from e
    except OpmlError as e:
        raise ConfigError(str(path), "", f"not an OPML list we can read: {e}") from e


def _kind_and_url(outline: Outline, kind: Kind | None) -> tuple[Kind, str] | Skipped:
    recorded = outline.kind if outline.kind in KINDS else None
    wanted = kind or _as_kind(recorded) or ("feed" if outline.xml_url else None)
    if wanted is None:
        reason = "a page address but no feed address: add it with --kind liveblog or article"
        return Skipped("", reason)
    url = outline.xml_url if wanted == "feed" else (outline.html_url or outline.xml_url)
    if url is None:
        return Skipped("", "no feed address (xmlUrl)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Skipped("", f"not an http or https address: {url}")
    return wanted, url


def _as_kind(value: str | None) -> Kind | None:
    return next((k for k in KINDS if k == value), None)


def _unique_name(title: str, taken: set[str]) -> str:
    base = _NOT_NAME.sub("-", title.lower()).strip("-")[:_MAX_NAME].strip("-") or "source"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _as_toml(added: Sequence[Added], story: StorySpec) -> str:
    document = tomlkit.document()
    tables = tomlkit.aot()
    for source in added:
        table = tomlkit.table()
        table["name"] = source.name
        if source.title:
            table["title"] = source.title
        table["story"] = story.id
        table["kind"] = source.kind
        table["url"] = source.url
        tables.append(table)
    document["sources"] = tables
    return tomlkit.dumps(document)


def _replace_if_valid(config: Path, text: str) -> None:
    # Written beside the config, so relative paths in it resolve as they will.
    handle, temporary = tempfile.mkstemp(prefix=".import-", suffix=".toml", dir=config.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        load(Path(temporary), {})
        os.chmod(temporary, config.stat().st_mode & 0o7777)
        os.replace(temporary, config)
    except ConfigError as e:
        raise ConfigError(str(config), e.where, f"the import would break it: {e.reason}") from e
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
