"""The cyclic garbage collector paused while a snapshot is built or judged.

Parsing a bundle or judging a snapshot allocates hundreds of thousands of dicts, lists and
findings that form no reference cycles. With the collector on, each of its full passes walks
every object of the process (Django's included) and the growing snapshot again, for nothing: a
quarter of a large bundle's load. Objects are still freed by reference counting meanwhile, and the
collector runs again, as it was, once the block ends.
"""
import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
