"""Worker processes: how many cores we may use, and a pool of forked workers."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor


def cpus() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def pool(workers: int, initializer=None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """Workers forked from this process where the platform allows (no re-import; module globals
    set before the call are inherited), else spawned.

    Fork only while no other thread runs: a thread holding a lock at the fork hangs the child.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if can_fork() else None)
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer, initargs=initargs)
