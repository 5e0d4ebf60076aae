"""Start this package's own Python processes without the working directory on their import path.

``python -m tutor.x`` puts the folder it was started in first on ``sys.path``, so a ``random.py`` or
``numpy.py`` beside a learner's notebook or exercises would be imported in place of the real module by
the process that grades them. :func:`module_argv` runs the module with that entry removed (and this
package's own folder at the end of the path, for a checkout that is not installed).
"""

from __future__ import annotations

import sys
from pathlib import Path

_BOOT = (
    "import sys; "  # built in: nothing is looked up on the path for it
    "sys.path[:] = sys.path[1:] + [sys.argv[2]]; "  # '' (the working directory) gone before any other import
    "import runpy; "  # ... for runpy's own imports (warnings, types, importlib...) come from the path too
    "module = sys.argv[1]; sys.argv[:] = [sys.argv[0]] + sys.argv[3:]; "
    "runpy.run_module(module, run_name='__main__', alter_sys=True)"
)


def module_argv(module: str, *args: str) -> list[str]:
    """The argv of ``python -m module args``, minus the working directory on the child's ``sys.path``."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    return [sys.executable, "-c", _BOOT, module, package_parent, *args]
