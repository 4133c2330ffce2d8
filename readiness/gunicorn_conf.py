"""Gunicorn settings for `make run` and the container image."""
import os


def child_exit(server, worker):
    # Per-process metric files of a dead worker must be marked, or gauges keep its last values.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


graceful_timeout = 10
timeout = 60
