"""A countdown that ticks in the browser with no script and no server run: CSS only.

The quiz's deadline is the server's (courses.quizzes); this only shows it. A registered custom property
(``@property --gw-left``, an integer) is animated from the seconds left down to 0 over that many seconds;
counters print it as mm:ss and a bar shrinks with it. No JavaScript, so it works under a Content-Security-
Policy without 'unsafe-inline' scripts, and it costs the server nothing while the worker reads a question
(a timed rerun raced the page's runs under load: see git log of pages/quiz.py). A browser without @property
shows the time as of the last run, as before.
"""

from __future__ import annotations

import streamlit as st

_STYLE = """
<style>
@property --gw-left { syntax: '<integer>'; initial-value: 0; inherits: true; }
@keyframes gw-count { from { --gw-left: var(--gw-from); } to { --gw-left: 0; } }
@keyframes gw-shrink { from { width: var(--gw-width); } to { width: 0%; } }
.gw-countdown { animation: gw-count var(--gw-secs) linear forwards;
  counter-reset: gw-mm round(down, calc(var(--gw-left) / 60), 1) gw-ss mod(var(--gw-left), 60);
  font-size: 0.95rem; margin: 0.25rem 0 0.5rem 0; }
.gw-countdown .gw-mm::after { content: counter(gw-mm); font-weight: 600; }
.gw-countdown .gw-ss::after { content: counter(gw-ss, decimal-leading-zero); font-weight: 600; }
.gw-countdown .gw-bar { height: 6px; border-radius: 3px; background: rgba(128,128,128,0.2); margin-top: 4px; }
.gw-countdown .gw-bar span { display: block; height: 100%; border-radius: 3px; background: #ff4b4b;
  animation: gw-shrink var(--gw-secs) linear forwards; }
</style>
"""


def countdown(seconds_left: float, total_seconds: float, template: str) -> None:
    """Draw a ticking mm:ss countdown. ``template`` is the translated line with ``{clock}`` where the time goes
    (trusted catalog text, not user input)."""
    left = max(0, int(seconds_left))
    width = 100.0 * max(0.0, min(1.0, seconds_left / total_seconds)) if total_seconds else 0.0
    clock = '<span class="gw-mm"></span>:<span class="gw-ss"></span>'
    # One markdown block with its own <style> (st.html sanitises a <style> away when markup follows, and
    # sends a style-only block to the event container, which a fragment's rerun drops).
    st.markdown(
        _STYLE.strip() + f'<div class="gw-countdown" data-testid="gw-countdown" '
        f'style="--gw-from: {left}; --gw-secs: {left}s; --gw-width: {width:.2f}%">'
        + template.format(clock=clock)
        + '<div class="gw-bar"><span></span></div></div>',
        unsafe_allow_html=True,
    )
