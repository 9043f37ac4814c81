"""Command lines built from a config dataclass: one flag per field, its help from the field."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def build_parser(config_cls: type, description: str | None = None) -> argparse.ArgumentParser:
    """An ``argparse`` parser with ``--field-name`` per dataclass field (booleans as
    ``--flag/--no-flag``); help texts come from ``field(metadata={"help": ...})``."""
    parser = argparse.ArgumentParser(description=description or (config_cls.__doc__ or "").split("\n")[0])
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f.metadata.get("help", "") + f" (default: {default})"
        kind = hints[f.name]
        if f.metadata.get("positional"):  # a list field taken from the remaining arguments
            parser.add_argument(f.name, nargs="*", default=default, help=f.metadata.get("help", ""))
            continue
        if kind is bool:
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, dest=f.name, action=action, default=default, help=help_text)
            continue
        args = [a for a in typing.get_args(kind) if a is not type(None)]  # X | None -> X
        base = args[0] if args else kind
        if typing.get_origin(base) is list:
            item = typing.get_args(base)[0]
            parser.add_argument(flag, dest=f.name, type=item, nargs="*", default=default, help=help_text)
        else:
            choices = f.metadata.get("choices")
            parser.add_argument(flag, dest=f.name, type=base, default=default, choices=choices, help=help_text)
    return parser


def parse_config(config_cls: type[T], argv: Sequence[str] | None = None, description: str | None = None) -> T:
    """Parse ``argv`` into ``config_cls``; its ``__post_init__`` errors become usage errors."""
    parser = build_parser(config_cls, description)
    namespace = parser.parse_args(argv)
    try:
        return config_cls(**vars(namespace))
    except (TypeError, ValueError) as err:
        parser.error(str(err))
        raise  # unreachable: parser.error exits


def field(default: Any, help: str, **metadata: Any) -> Any:  # noqa: A002 - argparse's word
    """``dataclasses.field`` with a help text (and optional ``choices``, or ``positional=True``
    for a list field filled from the positional arguments)."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"help": help, **metadata})
    return dataclasses.field(default=default, metadata={"help": help, **metadata})
