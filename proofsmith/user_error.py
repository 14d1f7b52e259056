"""The one error type every `proofsmith` command raises for a mistake the user can fix.

A wrong path, an unknown task or model, a malformed file: one `error:` line
that names the fix, and exit status 2 (exit status 1 stays "ran, but not
everything verified or solved"). Never a traceback.
"""

from __future__ import annotations

import click

#: Exit status for input a person can fix.
EXIT_INPUT_ERROR = 2


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one `error:` line, exit status 2."""

    exit_code = EXIT_INPUT_ERROR
