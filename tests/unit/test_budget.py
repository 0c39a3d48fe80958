"""A sweep's time budget belongs to the thread running it (the local scheduler runs sweeps side by side)."""
import threading

from chalicelib import budget


def test_one_sweeps_end_does_not_lift_anothers_budget():
    budget.start(-1)  # this thread's run: already spent
    other_done = threading.Event()

    def other_sweep():
        budget.start(60)
        budget.stop()
        other_done.set()

    threading.Thread(target=other_sweep).start()
    assert other_done.wait(10)
    try:
        assert budget.exhausted() and budget.deadline() is not None
    finally:
        budget.stop()
    assert not budget.exhausted() and budget.deadline() is None
