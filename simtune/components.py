"""Saving and loading of model components: a JSON config and safetensors weights per folder.

Components record their class as ``module:qualname`` so a folder rebuilds the right class;
classes defined in ``__main__`` are refused, since no other process could import them back.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def class_path(obj: Any) -> str:
    """``module:qualname`` of ``obj``'s class; refuses classes that live in ``__main__``."""
    cls = type(obj)
    if cls.__module__ == "__main__":
        raise ValueError(
            f"cannot save {cls.__name__}: it is defined in __main__, so no other process could "
            f"load it back; define it in an importable module (for example model.py) and import it "
            f"from the script that trains it"
        )
    return f"{cls.__module__}:{cls.__qualname__}"


def import_class(path: str, base: type, where: Path) -> type:
    """Import ``module:qualname`` and check that it subclasses ``base``.

    Raises:
        ValueError: the path is malformed, cannot be imported, or is not a ``base``.
    """
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ValueError(f"{where}: class '{path}' is not of the form 'module:QualName'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"{where}: cannot import class '{path}': {err}") from err
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise ValueError(f"{where}: class '{path}' is not a subclass of {base.__name__}")
    return obj


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (the enclosing save is what makes it atomic)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict:
    """Read a JSON object, with an error that names the file when it is missing or broken."""
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}: the folder is not a complete simtune save")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def save_tensors(state: dict, path: Path) -> None:
    """Write a state dict as safetensors (contiguous copies, shared storage broken)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().clone() for k, v in state.items()}, str(path))


def load_tensors(path: Path) -> dict:
    """Read safetensors weights with an error that names the file when missing or corrupted."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"missing weights file {path}")
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own SafetensorError on bad headers
        raise ValueError(f"corrupted weights file {path}: {err}") from err


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries so a rename survives a crash (best effort on this OS)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
