"""Select boxes whose options people can tell apart, and Streamlit can too (ui/options.py).

Streamlit sends back a select box's, multiselect's or radio's *label* and maps it to one option: of two options
with one label, choosing one selects the other (a select box keeps the last, a multiselect the first). ``distinct_labels`` numbers a repeated
label; the guard below keeps every ``format_func`` in pages/ and ui/ either fed by ``distinct_labels`` or on
the reviewed list with the reason its labels cannot repeat.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ui.options import distinct_labels

ROOT = Path(__file__).resolve().parents[2]
WIDGETS = {"selectbox", "multiselect", "radio", "segmented_control", "pills", "select_slider"}

CATALOG = "labels from the catalog, one per fixed code"
IN_CATALOG_PAGE = "course_label / unit_label made distinct in pages/catalog.py (CourseAdmin)"
# (file, the widget's label key) → why its option labels cannot repeat (a unique code or number leads them,
# or they come from the catalog). A new select widget with a format_func either feeds it from a dict made by
# distinct_labels or is added here, with its reason, after review.
REVIEWED: dict[tuple[str, str], str] = {
    ("pages/api_clients.py", "api.pick"): "the client's name, unique in api_client",
    ("pages/attendance.py", "courses.att.bulk"): CATALOG,
    ("pages/audit.py", "audit.area"): CATALOG,
    ("pages/audit.py", "audit.action"): CATALOG,
    ("pages/corrections.py", "rights.mgr.pick"): "the request's id leads",
    ("pages/corrections.py", "rights.erase.pick"): "the employee number leads",
    ("pages/data_quality.py", "field.dq.kind"): CATALOG,
    ("pages/dispatch.py", "assign.preset"): CATALOG,
    ("pages/events.py", "field.events.filter_state"): CATALOG,
    ("pages/events.py", "field.events.pick"): "the event number leads",
    ("pages/events.py", "field.events.action"): CATALOG,
    ("pages/events.py", "field.events.satisfaction"): CATALOG,
    ("pages/jobs.py", "jobs.pick"): "one description per job of the fixed job list",
    ("pages/my_data.py", "rights.my.field"): CATALOG,
    ("pages/notify_channels.py", "notify.log.channel"): "the channel's name, unique in notify_channel",
    ("pages/notify_channels.py", "notify.log.state"): CATALOG,
    ("pages/notify_channels.py", "notify.col.kind"): CATALOG,
    ("pages/notify_prefs.py", "notify.prefs.language"): "the two languages",
    ("pages/rentals.py", "field.rentals.pick"): "the building code leads",
    ("pages/rentals.py", "field.rentals.veto"): CATALOG,
    ("pages/report_event.py", "triage.report.item"): "the item code leads",
    ("pages/scorecard.py", "score.worker"): "name · employee number",
    ("pages/scorecard.py", "score.adjust_kind"): CATALOG,
    ("pages/skill_gaps.py", "assign.col.item"): "the item code leads",
    ("pages/users.py", "users.filter_role"): CATALOG,
    ("pages/users.py", "users.role"): CATALOG,
    ("pages/users.py", "users.pick"): "the username leads",
    ("pages/users.py", "users.extra_duties"): CATALOG,
    ("pages/workers.py", "workers.filter_status"): CATALOG,
    ("pages/workers.py", "workers.edit_pick"): "the employee number leads",
    ("pages/workers.py", "col.grid"): "the grid code leads",
    ("pages/workers.py", "col.status"): CATALOG,
    ("ui/course_admin/calendar_tab.py", "courses.cal.week_of"): "one week per Monday",
    ("ui/course_admin/catalog_tab.py", "courses.catalog.edit_pick"): IN_CATALOG_PAGE,
    ("ui/course_admin/enroll_tab.py", "courses.col.course"): IN_CATALOG_PAGE,
    ("ui/course_admin/enroll_tab.py", "courses.enroll.workers"): "the employee number leads",
    ("ui/course_admin/enroll_tab.py", "courses.rule.kind"): CATALOG,
    ("ui/course_admin/enroll_tab.py", "courses.rule.unit"): IN_CATALOG_PAGE,
    ("ui/course_admin/enroll_tab.py", "courses.rule.cert_course"): IN_CATALOG_PAGE,
    ("ui/course_admin/schedule_tab.py", "courses.col.course"): IN_CATALOG_PAGE,
    ("ui/course_admin/schedule_tab.py", "courses.sched.weekdays"): CATALOG,
    ("ui/course_admin/schedule_tab.py", "courses.col.audience"): IN_CATALOG_PAGE,
    ("ui/course_catalog.py", "courses.col.skill_area"): CATALOG,
    ("ui/course_catalog.py", "courses.catalog.grading"): CATALOG,
    ("ui/course_catalog.py", "courses.catalog.review"): CATALOG,
    ("ui/dispatch/batch_tab.py", "assign.batch.preset"): CATALOG,
    ("ui/dispatch/quality_tab.py", "assign.q.period"): CATALOG,
    ("ui/dispatch/queue_tab.py", "assign.queue.kinds"): CATALOG,
    ("ui/scorecards/ranking_tab.py", "score.col.grade"): CATALOG,
    ("ui/scorecards/ranking_tab.py", "score.col.party_member"): CATALOG,
    ("ui/scorecards/ranking_tab.py", "score.open_card"): "name · employee number",
    ("ui/state.py", "'Language / 语言'"): "the two languages",
    ("ui/training_ledger.py", "training.col.name"): "the employee number leads",
    ("ui/triage_review.py", "triage.review.pick"): "the event number leads",
    ("ui/triage_review.py", "triage.review.item"): CATALOG,
}

# Keyed select widgets with a format_func whose labels do not change with the language, so they need no
# ui.state.lang_key (which re-sends a kept choice with its new label when the language is switched).
SAME_IN_EVERY_LANGUAGE: dict[tuple[str, str], str] = {
    ("pages/web_sessions.py", "'sessions_pick'"): "username · name · device · time",
    ("ui/scorecards/ranking_tab.py", "'score_pick'"): "name · employee number",
    ("ui/scorecards/snapshots_tab.py", "'score_bulletin'"): "period and revision",
    ("ui/scorecards/snapshots_tab.py", "'score_rev_diff'"): "period and revision",
    ("ui/state.py", "f'_lang_{where}'"): "the language switch itself: 中文 / English",
    ("ui/training_ledger.py", "'ledger_worker'"): "employee number · name",
    ("ui/triage_review.py", "'triage_pick'"): "event number · the report's own text",
}


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


def _bound_by(tree: ast.AST, function: str) -> set[str]:
    """Names the module assigns from a ``function(...)`` call (also as the branch of an if-expression)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        value = node.value.body if isinstance(node.value, ast.IfExp) else node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == function:
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _select_calls(tree: ast.AST) -> list[ast.Call]:
    """The select widgets' calls (``st.selectbox(...)``, ``col.radio(...)``, …) in ``tree``."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WIDGETS
    ]


def select_widgets_unchecked(path: Path, source: str) -> list[tuple[str, str]]:
    """(file, label key) of each select widget in ``source`` whose format_func reads no dict made by
    distinct_labels: its labels may repeat unless it is on the reviewed list."""
    tree = ast.parse(source)
    distinct = _bound_by(tree, "distinct_labels")
    found = []
    for node in _select_calls(tree):
        fmt = next((k.value for k in node.keywords if k.arg == "format_func"), None)
        if fmt is None:  # an option's label is str(option): two alike are the same value
            continue
        if {n.id for n in ast.walk(fmt) if isinstance(n, ast.Name)} & distinct:
            continue
        label = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == "label")
        key = (
            label.args[0].value
            if isinstance(label, ast.Call) and label.args and isinstance(label.args[0], ast.Constant)
            else ast.unparse(label)
        )
        found.append((str(path), key))
    return found


def _project_widgets() -> list[tuple[str, str]]:
    files = sorted([*(ROOT / "pages").rglob("*.py"), *(ROOT / "ui").rglob("*.py")])
    return [w for f in files for w in select_widgets_unchecked(f.relative_to(ROOT), f.read_text("utf-8"))]


def test_every_select_label_is_distinct_or_reviewed():
    """Test that each select widget with a format_func in pages/ and ui/ reads labels made by distinct_labels
    or is on REVIEWED with the reason its labels cannot repeat, and that REVIEWED lists no widget gone."""
    found = set(_project_widgets())
    new = sorted(found - set(REVIEWED))
    assert not new, (
        f"select widgets whose labels may repeat: {new}. Build the labels with ui.options.distinct_labels "
        "(after a distinguishing part such as the employee number), or add them to REVIEWED with the reason "
        "they cannot repeat."
    )
    assert not sorted(set(REVIEWED) - found), "REVIEWED lists widgets no longer there (or now distinct)"


def test_the_guard_sees_a_name_picked_by_name_alone():
    """Test that the guard flags a worker pick labelled by the name alone and passes it through distinct_labels."""
    bad = (
        "names = dict(zip(frame['worker_id'], frame['name']))\n"
        "wid = st.selectbox(tr('x.pick'), list(names), format_func=names.get)\n"
    )
    good = "names = distinct_labels(dict(zip(frame['worker_id'], frame['name'])))\n" + bad.splitlines()[1]
    assert select_widgets_unchecked(Path("pages/x.py"), bad) == [("pages/x.py", "x.pick")]
    assert select_widgets_unchecked(Path("pages/x.py"), good) == []


def keyed_widgets_without_lang_key(path: Path, source: str) -> list[tuple[str, str]]:
    """(file, key expression) of each keyed select widget in ``source`` with a format_func whose key is not
    made by ``lang_key`` (in the call, or a name the module binds from it)."""
    tree = ast.parse(source)
    by_lang_key = _bound_by(tree, "lang_key")
    found = []
    for node in _select_calls(tree):
        kw = {k.arg: k.value for k in node.keywords}
        key = kw.get("key")
        if "format_func" not in kw or key is None:
            continue
        if isinstance(key, ast.Call) and isinstance(key.func, ast.Name) and key.func.id == "lang_key":
            continue
        if isinstance(key, ast.Name) and key.id in by_lang_key:
            continue
        found.append((str(path), ast.unparse(key)))
    return found


def test_every_keyed_select_keeps_its_choice_across_a_language_switch():
    """Test that each keyed select widget with a format_func in pages/ and ui/ takes its key from
    ui.state.lang_key (the switch then shows the kept choice with its label in the new language) or is on
    SAME_IN_EVERY_LANGUAGE with the reason its labels do not change, and that the list names no widget gone."""
    files = sorted([*(ROOT / "pages").rglob("*.py"), *(ROOT / "ui").rglob("*.py")])
    found = {
        w for f in files for w in keyed_widgets_without_lang_key(f.relative_to(ROOT), f.read_text("utf-8"))
    }
    new = sorted(found - set(SAME_IN_EVERY_LANGUAGE))
    assert not new, (
        f"keyed select widgets that would show a stale label after a language switch: {new}. Key them with "
        "ui.state.lang_key, or add them to SAME_IN_EVERY_LANGUAGE with the reason their labels do not change."
    )
    assert not sorted(set(SAME_IN_EVERY_LANGUAGE) - found), (
        "SAME_IN_EVERY_LANGUAGE lists widgets no longer there"
    )


def test_the_language_guard_sees_a_keyed_select_without_lang_key():
    """Test that the guard flags a keyed select labelled through the catalog and passes it with lang_key."""
    bad = "kind = st.selectbox(tr('x.kind'), KINDS, format_func=lambda k: tr(k), key='x_kind')\n"
    good = bad.replace("key='x_kind'", "key=lang_key('x_kind')")
    bound = "k = lang_key('x_kind')\n" + bad.replace("key='x_kind'", "key=k")
    assert keyed_widgets_without_lang_key(Path("pages/x.py"), bad) == [("pages/x.py", "'x_kind'")]
    assert keyed_widgets_without_lang_key(Path("pages/x.py"), good) == []
    assert keyed_widgets_without_lang_key(Path("pages/x.py"), bound) == []
