"""Worker processes: how many cores we may use, pools of forked workers, and the garbage collector."""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.pool import Pool


def cpus() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def collector_off() -> Iterator[None]:
    """The cyclic garbage collector off for a run, and in the workers it forks. What a build makes
    (documents, cards) holds no reference cycles and lives until the run ends, so a collection frees
    nothing, yet each full one walks every object: 1.3 s of a 22 s build of 1,000 files.
    (Measured: the workers' peak memory is the same with it off.)"""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def pool(workers: int, initializer=None, initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """Workers forked from this process where the platform allows (no re-import; module globals
    set before the call are inherited), else spawned.

    A thread holding a lock at a fork can hang the child, so nothing of ours runs in a thread
    (progress.py draws from the pipeline's calls); the only threads are the pools' own, which
    wait on their queues. The heap is frozen for the garbage collector while the pool lives: a collection in a forked
    child would write to every object it holds and so copy the parent's memory page by page.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if can_fork() else None)
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_start,
                             initargs=(os.getpid(), initializer, initargs)) as executor:
            yield executor
    finally:
        gc.unfreeze()


@contextmanager
def early_pool(workers: int) -> Iterator[Pool | None]:
    """`workers` processes forked now, while this process is still small, for work handed to them
    later with its data (a pool forked later would share, and bit by bit copy, all memory by then).
    None when there is one worker or no fork."""
    if workers < 2 or not can_fork():
        yield None
        return
    import multiprocessing

    gc.freeze()  # as in pool(): a collection in a child would copy what it inherited
    pool = multiprocessing.get_context("fork").Pool(workers, _worker_start, (os.getpid(), None, ()))
    gc.unfreeze()
    try:
        yield pool
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _worker_start(parent: int, initializer, initargs: tuple) -> None:
    """First thing in every worker: make it exit with the build process, then `initializer`."""
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def die_with_parent(parent: int) -> None:
    """Exit when process `parent` dies (killed, say). A worker waits on a queue whose writing end
    it inherited too, so it would never see the end of its input and sleep on forever.

    Linux: the kernel sends SIGKILL (prctl PR_SET_PDEATHSIG). Elsewhere a thread checks the
    parent's pid once a second (a child whose parent died is handed to another one)."""
    if not _parent_death_signal():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="notecards-parent").start()
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def _parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)
