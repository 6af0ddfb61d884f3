"""Late binding between areas: core names what the areas above it provide ("module:attribute") and
looks it up only when needed, so core never imports courses/ or evaluation/ at module level."""

from __future__ import annotations

import importlib
from typing import Any


def optional(spec: str) -> Any | None:
    """The attribute named by "package.module:attribute", or None when that module does not exist.

    A module that exists but fails to import (a broken import inside it) still raises.
    """
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attr) if attr else module
