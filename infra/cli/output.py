"""What `cxm` prints on stdout: tables and label/value details for people (rich), the API's JSON for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text

# Off a terminal (a pipe, a file) lines are not folded at 80 columns, so that ids stay whole for grep and cut.
PIPE_WIDTH = 200


def console() -> Console:
    terminal = sys.stdout.isatty()
    return Console(highlight=False, width=None if terminal else PIPE_WIDTH, soft_wrap=not terminal)


def cell(value: Any) -> RenderableType:
    """A value as the API gave it, never read as rich markup (a name may hold `[brackets]`)."""
    if value is None or value == "":
        return Text("-", style="dim")
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, bool | int | float):
        return Text(str(value).lower() if isinstance(value, bool) else f"{value:,}")
    return Text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def show(renderable: RenderableType) -> None:
    """On a terminal as rich draws it; elsewhere without the padding that ends each line."""
    screen = console()
    if screen.is_terminal:
        screen.print(renderable)
        return
    with screen.capture() as drawn:
        screen.print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in drawn.get().splitlines()))


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    shown = Table(*columns, box=box.SIMPLE, show_edge=False, header_style="bold")
    for row in rows:
        shown.add_row(*(cell(value) for value in row))
    if title:
        show(Text(f"\n{title}", style="bold"))
    show(shown)


def details(pairs: Iterable[tuple[str, Any]]) -> None:
    """Label: value lines; a dict or list value is shown as indented JSON."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in pairs:
        grid.add_row(
            label, JSON.from_data(value, indent=2) if isinstance(value, dict | list) and value else cell(value)
        )
    show(grid)


def say(text: str) -> None:
    show(Text(text))


def raw(answer: str) -> None:
    """The API's JSON answer, byte for byte as it came (`--json`)."""
    sys.stdout.write(answer if answer.endswith("\n") else answer + "\n")
    sys.stdout.flush()
