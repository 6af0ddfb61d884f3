"""Labels of a select box's options that people can tell apart, and that Streamlit can too.

A select box, multiselect, radio or segmented control sends back its option's *label*, not its value, and
Streamlit (1.67) maps the label back to one option: a select box, radio or segmented control through a dict
(``formatted_option_to_option_index``, the last option so labelled), a multiselect with ``list.index`` (the
first). When two options share a label, choosing one of them silently selects the other. Labels made from
data (people's names, course and lesson titles, unit names, session times) can repeat, so every such option
list goes through ``distinct_labels``; labels from the catalog per fixed code (states, kinds, roles,
weekdays) cannot repeat and need not. Where a better distinguishing part exists (a worker's employee number
after the name) add it first: ``distinct_labels`` is the safety net, "(2)" tells two options apart but not
who is who.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def distinct_labels(labels: dict[K, str]) -> dict[K, str]:
    """The same labels, in the dict's order, with a repeated one numbered ("王伟", "王伟 (2)", "王伟 (3)").
    A number is never one another option already reads: with a worker named "王伟 (2)" the second 王伟 is
    "王伟 (3)"."""
    taken = set(labels.values())
    used: set[str] = set()
    last: dict[str, int] = {}
    out: dict[K, str] = {}
    for value, label in labels.items():
        if label not in used:
            out[value] = label
        else:
            n = last.get(label, 1) + 1
            while f"{label} ({n})" in taken or f"{label} ({n})" in used:
                n += 1
            last[label] = n
            out[value] = f"{label} ({n})"
        used.add(out[value])
    return out
