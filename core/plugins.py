"""Late binding between areas: core names what the areas above it provide ("module:attribute") and
looks it up only when needed, so core never imports courses/ or evaluation/ at module level."""

from __future__ import annotations

import importlib
from typing import Any


def provided(spec: str) -> Any:
    """The attribute named by "package.module:attribute" (the module when there is no attribute).

    Every area named this way is part of the product: a missing or broken module raises (no silent
    fallback that would leave a command, a demo seeder or a job out)."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module
