"""``python -m cogarch.serve``: the server with settings from the environment and config file only."""

from __future__ import annotations

import sys

from cogarch.serve.runner import run
from cogarch.settings import Settings
from reasoning.errors import CogarchError

if __name__ == "__main__":
    try:
        run(Settings.load())
    except CogarchError as error:
        print(f"error: {error.message}" + (f"\nhint: {error.hint}" if error.hint else ""), file=sys.stderr)
        sys.exit(error.exit_code)
