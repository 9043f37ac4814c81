"""Command lines built from configuration dataclasses, so flags, defaults and help cannot drift.

Each field becomes ``--<field name>``; its ``metadata`` gives ``help`` and optionally ``choices``.
Booleans get ``--x/--no-x`` (``argparse.BooleanOptionalAction``), ``tuple[str, ...]`` fields take
one or more values, and ``int | None`` / ``str | None`` fields accept the word ``none``.

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Demo:
    ...     epochs: int = field(default=1, metadata={"help": "passes over the data"})
    ...     fast: bool = field(default=True, metadata={"help": "go fast"})
    >>> parse_config(Demo, ["--epochs", "3", "--no-fast"])
    Demo(epochs=3, fast=False)
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def _none_or(convert: Any) -> Any:
    def parse(text: str) -> Any:
        return None if text.lower() == "none" else convert(text)

    parse.__name__ = getattr(convert, "__name__", "value")  # argparse names it in errors
    return parse


def _argument(name: str, hint: Any, spec: dataclasses.Field) -> tuple[list[str], dict[str, Any]]:
    """The ``add_argument`` arguments of one dataclass field."""
    kwargs: dict[str, Any] = {"help": spec.metadata.get("help", ""), "dest": name}
    if spec.default is not dataclasses.MISSING:
        kwargs["default"] = spec.default
    elif spec.default_factory is not dataclasses.MISSING:
        kwargs["default"] = spec.default_factory()
    else:
        kwargs["required"] = True
    if "choices" in spec.metadata:
        kwargs["choices"] = spec.metadata["choices"]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    optional = origin in (typing.Union, types.UnionType) and type(None) in args
    if optional:
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    flag = "--" + name
    if hint is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif origin is tuple:
        kwargs["nargs"] = "+"
        kwargs["type"] = args[0]
    elif hint in (int, float, str):
        kwargs["type"] = _none_or(hint) if optional else hint
    else:
        raise TypeError(f"field {name!r}: no command-line form for type {hint!r}")
    if kwargs.get("default") is not None and "action" not in kwargs:
        kwargs["help"] += f" (default: {kwargs['default']})"
    return [flag], kwargs


def build_parser(config_cls: type, description: str | None = None,
                 prog: str | None = None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with one option per field of dataclass ``config_cls``."""
    parser = argparse.ArgumentParser(prog=prog,
                                     description=description or (config_cls.__doc__ or "").strip())
    hints = typing.get_type_hints(config_cls)
    for spec in dataclasses.fields(config_cls):
        if not spec.init:
            continue
        flags, kwargs = _argument(spec.name, hints[spec.name], spec)
        parser.add_argument(*flags, **kwargs)
    return parser


def parse_config(config_cls: type[T], argv: Sequence[str] | None = None,
                 prog: str | None = None) -> T:
    """Parse ``argv`` into an instance of ``config_cls``; a bad value exits with its field's error."""
    parser = build_parser(config_cls, prog=prog)
    namespace = parser.parse_args(argv)
    values = vars(namespace)
    hints = typing.get_type_hints(config_cls)
    for name, value in values.items():
        if isinstance(value, list) and typing.get_origin(hints[name]) is tuple:
            values[name] = tuple(value)
    try:
        return config_cls(**values)
    except (ValueError, TypeError) as error:
        parser.error(str(error))  # exits with status 2 and the field's message
        raise  # unreachable; keeps type checkers content
