"""When Python's garbage collector runs in a function: not while it loads, not inside a send batch.

The collector is meant for programs that make and drop objects all along. A Lambda container is
not one: it loads botocore, pynamodb, chalice, Powertools and our modules — some 40,000 objects
that live as long as it does — and then handles events. Left alone, the collector runs full
collections over those objects while they load (each longer, as they grow), and later ones over
them for nothing.

- **While a function loads** (in a Lambda container only: not in the tests or the CLI),
  collection waits from ``app.py``'s first line until the first event has been handled; then what
  was loaded is frozen out of later collections (``gc.freeze``) and collection resumes, young
  objects only: a cold start spends its time loading, not collecting.
- **Inside a send batch**, no automatic collection: a send leaves within milliseconds of its rate
  slot and must reach the provider within its schedule's margin (``domain/ratelimit.py``); a full
  collection in a warm sender took about 30 ms and, landing between a send's turn and its call,
  made it arrive late enough to crowd the next one-second window. Reference counting still frees
  almost everything; only cycles wait, for the seconds a batch lasts. After the first batch (in
  any process) the loaded modules are frozen out of collections, which then take well under a
  millisecond.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

_held = False  # collection held since the function started loading
_settled = False  # what start-up loaded is frozen out of collections


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("AWS_EXECUTION_ENV"))


def hold_while_loading() -> None:
    """``app.py``'s first line: no collection until the first event is handled (in Lambda)."""
    global _held
    if in_lambda() and gc.isenabled():
        gc.disable()
        _held = True


def after_an_event() -> None:
    """Every event's end: the first time, what was loaded is frozen and collection resumes."""
    global _held
    if _held:
        _settle()
        gc.enable()
        _held = False


@contextmanager
def no_collection_pauses() -> Iterator[None]:
    """Around a send batch: no automatic collection inside it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not _settled:
            gc.collect()  # this batch's cycles first: freezing keeps only what lives on
            _settle()
        if enabled:
            gc.enable()


def _settle() -> None:
    global _settled
    if not _settled:
        gc.freeze()
        _settled = True
