"""How loud the grader is: ``--quiet``, the default, ``--verbose``.

Libraries speak through ``logging`` and ``warnings`` (transformers' notices, diffusers' and huggingface_hub's
progress bars); by default only errors get through, with ``--verbose`` everything does.
"""

from __future__ import annotations

import logging
import os
import warnings

QUIET = False  # read by the commands: print only the verdict line
VERBOSE = False  # tracebacks of internal errors are printed


def configure(quiet: bool = False, verbose: bool = False) -> None:
    global QUIET, VERBOSE
    QUIET, VERBOSE = quiet and not verbose, verbose
    level = logging.INFO if verbose else logging.ERROR
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log records on the py.warnings logger
    for name in ("transformers", "diffusers", "huggingface_hub", "deepface", "py.warnings"):
        logging.getLogger(name).setLevel(level)
    plugins = logging.getLogger("t2i_grader.plugins")  # a plugin that does not load: always said, as one line
    if not plugins.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        plugins.addHandler(handler)
        plugins.propagate = False
    plugins.setLevel(logging.WARNING)
    if not verbose:
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # Their own switches, read when they are imported (after this point, since commands import lazily).
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def hide_library_bars() -> None:
    """The hub's and transformers' tqdm bars off (in a notebook, tqdm's widget warns without ipywidgets), for the
    Python API, which leaves logging alone otherwise; --verbose's choice stands."""
    if not VERBOSE:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        quiet_loading_bars()


def quiet_loading_bars() -> None:
    """The loading bars of diffusers and transformers, off unless --verbose. diffusers reads no environment switch
    for its bars, and transformers reads HF_HUB_DISABLE_PROGRESS_BARS only when imported: set both here, once they
    are imported (called where a pipeline is loaded)."""
    import sys

    for name in ("diffusers.utils.logging", "transformers.utils.logging"):
        library = sys.modules.get(name)
        if library is None:
            continue
        if VERBOSE:
            library.enable_progress_bar()
        else:
            library.set_verbosity_error()
            library.disable_progress_bar()
    hub = sys.modules.get("huggingface_hub.utils")
    if hub is not None:
        hub.enable_progress_bars() if VERBOSE else hub.disable_progress_bars()
