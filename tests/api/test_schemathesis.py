"""The running API against its own OpenAPI document: schemathesis (a third-party OpenAPI fuzzer) generates
requests for every operation from the document and sends them to a real uvicorn process on a copy of the
seeded demo, with a district key; its default checks (no server error, documented status codes, content
types, headers, response bodies matching their schemas) must all pass. Seeded (derandomized) and bounded
(MAX_EXAMPLES per operation) so it stays within a minute; the document and the code cannot drift apart
without this failing.

One default check is replaced by a stricter reading of itself: ``positive_data_acceptance`` expects every
schema-valid request to be accepted, but a schema-valid event may name a grid, worker or item that does
not exist (refused 422 ``rows_refused`` by the import's rules), a cursor the API never issued (400
``bad_cursor``) or a time outside the plausible window (which JSON Schema cannot state). Here a schema-valid
request must not be refused *as not fitting the document* (``invalid_request``) for any other reason."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from core.settings import ROOT

pytestmark = [pytest.mark.xdist_group("schemathesis")]
MAX_EXAMPLES = 10  # per operation and mode (schema-valid, schema-invalid); 13 operations


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_api(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, district key): uvicorn serving api.app on a private copy of the demo database."""
    from core.api_clients import OPERATIONS, create_client
    from core.db import make_engine, unit_of_work
    from core.scope import SYSTEM

    tmp = tmp_path_factory.mktemp("schemathesis")
    db = tmp / "demo.db"
    shutil.copy(demo_db_template, db)
    engine = make_engine(f"sqlite:///{db}")
    with unit_of_work(engine) as s:
        _, key = create_client(s, SYSTEM, name="fuzzer", scope_unit_id=None, operations=OPERATIONS)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "GRIDWISE_DATABASE_URL": f"sqlite:///{db}",
        "GRIDWISE_SCHEDULER_ENABLED": "false",
        "GRIDWISE_API_RATE_PER_SECOND": "100000",
        "GRIDWISE_API_BURST": "100000",
        "GRIDWISE_API_REFUSED_RATE": "100000",  # the fuzzer sends wrong keys on purpose
        "GRIDWISE_API_REFUSED_BURST": "100000",
        "GRIDWISE_API_DOCS": "true",  # the fuzzer reads the served document (off by default)
    }
    log = tmp / "api.log"
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the API did not start:\n{log.read_text(errors='replace')}") from None
            time.sleep(0.25)
    try:
        yield url, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        server_errors = [
            line for line in log.read_text(errors="replace").splitlines() if "internal error" in line
        ]
        assert not server_errors, server_errors


def _count(cases: dict[str, int], label: str) -> None:
    cases[label] += 1


def schema_valid_data_is_not_refused_as_invalid(ctx, response, case) -> None:  # noqa: ANN001
    """A generated (schema-valid) request refused only by rules the document cannot state."""
    if response.status_code not in (400, 422) or not (case.meta and case.meta.generation.mode.is_positive):
        return
    body = response.json()
    codes = {e.get("code") for e in body.get("errors") or []}
    if body.get("code") == "invalid_request" and codes - {"invalid.time_window"}:
        raise AssertionError(f"schema-valid request refused as invalid: {response.text[:500]}")


def _fuzz(operation, mode, counted, url: str, headers: dict[str, str]):  # noqa: ANN001, ANN202
    """A Hypothesis test sending MAX_EXAMPLES generated cases of ``operation`` (schema-valid or, in the
    negative mode, schema-invalid ones) with the default checks."""
    from hypothesis import given
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # noqa: ANN001 - a schemathesis Case
        counted()
        # The real key replaces the generated one; a case that leaves the header out on purpose (a
        # schema-invalid request) is sent without it, or adding it would make the request valid again.
        has_auth = any(k.lower() == "authorization" for k in (case.headers or {}))
        case.call_and_validate(
            base_url=url,
            headers=headers
            if has_auth
            else {k: v for k, v in headers.items() if k.lower() != "authorization"},
            excluded_checks=[positive_data_acceptance],
            additional_checks=[schema_valid_data_is_not_refused_as_invalid],
        )

    return run


def test_the_running_api_answers_as_its_document_says(live_api: tuple[str, str]) -> None:
    """Test that every generated request to every operation gets a documented status, content type and
    body (and no 5xx), with schemathesis' default checks. (Each operation's cases come from
    ``operation.as_strategy()`` under Hypothesis' ``@given``: schemathesis 4.32's pytest fixture loader
    does not run under pytest 9.)"""
    url, key = live_api
    document = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {key}"}
    failures: dict[str, str] = {}
    cases: dict[str, int] = {}
    started = time.monotonic()
    operations = [result.ok() for result in document.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.method.upper()} {operation.path} {mode.value}"
            cases[label] = 0
            run = _fuzz(operation, mode, functools.partial(_count, cases, label), url, headers)
            try:
                run()
            except Unsatisfiable:  # an operation without parameters has no schema-invalid request
                if mode is GenerationMode.POSITIVE:
                    raise
                del cases[label]
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report them all
                failures[label] = str(exc)[:3000]
    took = time.monotonic() - started
    runs = f"{len(operations)} operations, {len(cases)} operation × mode runs, {sum(cases.values())} cases"
    print(f"schemathesis: {runs} in {took:.1f} s: {cases}")
    assert len(operations) == 13
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
