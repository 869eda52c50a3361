"""The root ``possettle`` group, which imports a command group only when it is used.

Each top-level command (``host``, ``terminal``, ``demo`` …) is named here with the module that
defines it and the one-line help ``possettle --help`` shows; its module — and whatever that
imports (FastAPI, SQLAlchemy, python-escpos, the doctor …) — is imported when the command runs
or its own help is asked for, never to parse or list the others. This is click's "lazily
loading subcommands" pattern on Typer's group class: :meth:`LazyGroup.get_command` builds the
real command with :func:`typer.main.get_command` on first use.

While ``possettle --help`` lists the commands, :meth:`LazyGroup.get_command` hands back a stub
carrying only the name and the one-line help, so listing imports nothing
(``tests/cli/test_lazy.py`` checks each stub says what its command says).

Every command loaded here is tidied for help (:func:`tidy`): paragraphs written on several
lines in a docstring are joined so Rich reflows them to the terminal's width.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup, TyperOption


@dataclass(frozen=True)
class Lazy:
    """A top-level command: ``module:attribute`` is a Typer app or a command function."""

    target: str
    help: str

    def load(self, name: str) -> Any:
        module_name, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module_name), attribute)
        command: Any
        if isinstance(found, typer.Typer):
            command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(found)
            command = typer.main.get_command(single)
        command.name = name
        return tidy(command)


_LINE_BREAK = re.compile(r"(?<=\S)[ \t]*\n[ \t]*(?=\S)")


def reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph (a blank line still separates paragraphs; one that
    starts with ``\\b`` or an indented line is kept as written)."""
    if not text:
        return text
    paragraphs = re.split(r"\n[ \t]*\n", inspect.cleandoc(text))
    kept = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        literal = paragraph.startswith("\b") or any(
            line.startswith((" ", "\t")) for line in lines[1:]
        )
        kept.append(paragraph if literal else _LINE_BREAK.sub(" ", paragraph))
    return "\n\n".join(kept)


def tidy(command: Any) -> Any:
    """``command`` and its subcommands with help paragraphs reflowed."""
    command.help = reflow(command.help)
    for param in command.params:
        if isinstance(param, TyperOption):
            param.help = reflow(param.help)
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)
    return command


def _flag_type(original: Callable[[TyperOption, Any], str | None]) -> Any:
    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None  # a flag takes no value: no "<bool>" beside it
        return original(self, ctx)

    return display_type_rich


# Typer 0.29's Rich help writes every option's type, a flag's too ("--json <bool>"), though
# a flag takes no value; its plain help leaves it out. One place, so every flag — the
# automatic --help included — shows no placeholder.
_original = getattr(TyperOption, "display_type_rich", None)  # Typer 0.29; older ones lack it
if _original is not None and not getattr(_original, "_possettle", False):
    TyperOption.display_type_rich = _flag_type(_original)  # type: ignore[method-assign]
    TyperOption.display_type_rich._possettle = True  # type: ignore[attr-defined]


class LazyGroup(TyperGroup):
    """Typer's group with the top-level commands of :data:`COMMANDS`, imported on use."""

    lazy: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        spec = self.lazy[cmd_name]
        if self._listing:
            return TyperCommand(name=cmd_name, help=spec.help)
        command = spec.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def load_all(self) -> LazyGroup:
        """Every command imported now (for tests and tools that walk the whole tree)."""
        for name, spec in self.lazy.items():
            if name not in self.commands:
                self.commands[name] = spec.load(name)
        return self

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
