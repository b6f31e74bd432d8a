"""A failed refresh in words a coordinator can act on (sos_pipeline/failures.py)."""
from __future__ import annotations

import errno
import os

import dagster as dg
import pytest

from sos_pipeline.failures import describe, error_text, run_failure_text

WORK = "/srv/sos/data/.work/warehouse.duckdb"


@pytest.mark.parametrize("text, says", [
    # DuckDB, from a real run under a file size limit (RLIMIT_FSIZE)
    (f'_duckdb.FatalException: FATAL Error: Failed to create checkpoint because of error: Could not write '
     f'file "{WORK}": File too large', "A file size limit was reached"),
    # DuckDB, from a real run on a full file system
    (f'TransactionContext Error: Failed to commit: Could not write file "{WORK}": No space left on device',
     "The disk is full"),
    (f'IO Error: Could not write to file "{WORK}" - attempted to write 0 bytes: No space left on device',
     "The disk is full"),
    # Python
    (f"OSError: [Errno 28] No space left on device: '{WORK}'", "The disk is full"),
    (f"OSError: [Errno 27] File too large: '{WORK}'", "A file size limit was reached"),
    (f"OSError: [Errno 122] Disk quota exceeded: '{WORK}'", "The disk quota is used up"),
])
def test_running_out_of_room_is_said_plainly_and_names_the_file(text, says):
    out = describe(text)
    assert out.startswith(says)
    assert f"writing {WORK} failed" in out
    assert "run the refresh again" in out


def test_a_full_disk_without_a_file_name_is_still_recognised():
    assert describe("OSError: [Errno 28] No space left on device").startswith(
        "The disk is full: writing a file failed")
    # SQLite (Dagster's run history) says it its own way
    assert describe("sqlite3.OperationalError: database or disk is full").startswith("The disk is full")
    assert "max_temp_directory_size" in describe(
        "Out of Memory Error: failed to offload data block of size 256 KiB (9.9 GiB/9.9 GiB used).")


@pytest.mark.parametrize("text", [
    "", "Binder Error: Referenced column \"x\" not found",
    "ValueError: the file is too large to fit in the report",   # not an OS error
    "ConstraintException: Duplicate key \"id: 27\" violates primary key constraint",
])
def test_other_errors_are_not_mistaken_for_a_full_disk(text):
    assert describe(text) is None


def _run(fail_in: str, exc: Exception):
    """A real failed Dagster run: `fail_in` raises `exc`; a `warehouse` step comes last."""
    @dg.op
    def load_deliveries():
        if fail_in == "load_deliveries":
            raise exc
        return 1

    @dg.op
    def warehouse(x):
        if fail_in == "warehouse":
            raise exc
        return x

    @dg.job
    def refresh():
        warehouse(load_deliveries())

    return refresh.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_a_failed_run_says_which_step_and_that_the_published_file_was_left_alone():
    r = _run("load_deliveries", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), WORK))
    assert not r.success
    text = run_failure_text(r)
    assert text.startswith(f"Loading the deliveries failed (step load_deliveries): The disk is full: writing {WORK} failed")
    assert text.endswith("The published warehouse.duckdb was not replaced: analysts still see the "
                         "previous refresh.")


def test_a_full_disk_while_publishing_happens_before_the_rename():
    r = _run("warehouse", OSError(errno.EFBIG, os.strerror(errno.EFBIG)))
    text = run_failure_text(r)
    assert text.startswith("Publishing failed (step warehouse): A file size limit was reached: writing a file failed")
    assert "was not replaced" in text


def test_another_error_while_publishing_makes_no_promise_about_the_published_file():
    r = _run("warehouse", RuntimeError("the copy does not open"))
    text = run_failure_text(r)
    assert text == "Publishing failed (step warehouse): RuntimeError: the copy does not open."
    assert "not replaced" not in text


def test_a_successful_run_has_nothing_to_say():
    assert run_failure_text(_run("nowhere", RuntimeError())) == ""


def test_error_text_follows_the_causes_dagster_wraps_around_the_real_error():
    r = _run("load_deliveries", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), WORK))
    [ev] = r.get_step_failure_events()
    text = error_text(ev.step_failure_data.error)
    assert "Error occurred while executing op" in text and "No space left on device" in text
