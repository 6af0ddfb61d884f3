"""ui/options.py: select-box labels people can tell apart, and Streamlit can too.

Streamlit sends back a select box's, multiselect's or radio's *label* and maps it to an option through a dict:
two options with one label and choosing the first selects the last. ``distinct_labels`` numbers a repeated
label.
"""

from __future__ import annotations

from ui.options import distinct_labels


def test_a_repeated_label_is_numbered_and_the_rest_kept():
    """Test that labels keep their order and text, a repeat gets (2), (3), and no two labels end alike."""
    assert distinct_labels({1: "王伟", 2: "李娜", 3: "王伟", 4: "王伟"}) == {
        1: "王伟",
        2: "李娜",
        3: "王伟 (2)",
        4: "王伟 (3)",
    }
    assert distinct_labels({}) == {}
    assert distinct_labels({None: "全部", 7: "葵涌"}) == {None: "全部", 7: "葵涌"}
    # A label that already reads "王伟 (2)" (a worker so named) is never given to the second 王伟, whichever
    # comes first.
    assert distinct_labels({1: "王伟", 2: "王伟 (2)", 3: "王伟"}) == {1: "王伟", 2: "王伟 (2)", 3: "王伟 (3)"}
    assert distinct_labels({1: "王伟", 2: "王伟", 3: "王伟 (2)"}) == {1: "王伟", 2: "王伟 (3)", 3: "王伟 (2)"}
