"""The operations an API client may be granted: a plain list, light enough for ``gridwise --help`` (the
``api-client`` command lists them) without loading the database layer (core.api_clients uses it)."""

from __future__ import annotations

# What a client may be allowed to do (one name per group of endpoints; docs in README "API").
OPERATIONS: tuple[str, ...] = (
    "events.write",  # create/update events, apply state-machine actions, bulk upload
    "events.read",  # read events
    "attendance.write",  # meeting-platform attendance
    "workers.write",  # roster upserts
    "recommendations.read",  # ranked candidates for an open task
    "decisions.read",  # assignment decisions
    "scorecards.read",  # frozen scorecards
    "training.read",  # a worker's training status
)
