"""Expected failures of training plans (catalog keys ``training.err.<key>``).

A kind of CoursesError, so the courses pages that already show a course error (e.g. enrolment refused for a
missing prerequisite) show these too."""

from __future__ import annotations

from courses.errors import CoursesError


class TrainingError(CoursesError):
    prefix = "training.err."
