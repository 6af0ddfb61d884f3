"""The language switch sends each lang_key select's kept value again, labelled in the new language (the browser
shows the label it was last sent: it kept "注销后恢复" on the English 数据质量 page). The browser side is in
tests/e2e/test_language_switch.py."""

from __future__ import annotations

from core.i18n import t


def test_a_kept_choice_is_sent_again_with_its_new_label(open_page, viewer_of):
    """Test that after the sidebar's switch to English, 数据质量's check keeps its value and the run sends it to
    the browser with its English label (without the switch's resend the value was not sent: set_value false)."""
    at = open_page("pages/data_quality.py", viewer_of("manager"), lang="zh")
    at.selectbox(key="dq_kind").set_value("reversed_dereg").run()
    at.run()  # a run without a change sends nothing
    assert not at.selectbox(key="dq_kind").proto.set_value
    at.segmented_control(key="_lang_sidebar").set_value("en").run()
    assert not at.exception
    box = at.selectbox(key="dq_kind")
    assert box.value == "reversed_dereg"
    assert box.proto.set_value and box.proto.raw_value == t("field.dq.kind.reversed_dereg", "en")


def test_the_party_filter_keeps_its_choice_across_a_switch(open_page, viewer_of):
    """Test that 考评排名's party filter (options once its labels, keyed per language) keeps "non-party"."""
    at = open_page("pages/scorecards.py", viewer_of("manager"), lang="en")
    at.radio(key="score_f_party").set_value("non_party").run()
    at.segmented_control(key="_lang_sidebar").set_value("zh").run()
    assert not at.exception
    party = at.radio(key="score_f_party")
    assert party.value == "non_party" and party.options == [
        t(f"score.filter.{o}", "zh") for o in ("all", "party", "non_party")
    ]
