"""A real bwrap sandbox seen through `run` only: how the Lean and F* tests drive the docker sandbox's one-shot path.

Docker cannot run here; the checkers take the same path for any sandbox
without `spawn` (no warm process), so wrapping bwrap this way runs that path
for real, in a real sandbox.
"""

from __future__ import annotations


class RunOnly:
    """bwrap with only `run` (and `layers`): the checker runs each check as one process fed on stdin."""

    kind = "oneshot"

    def __init__(self, box) -> None:
        self._box = box

    def layers(self) -> list[str]:
        return self._box.layers()

    def run(self, *args, **kwargs):
        return self._box.run(*args, **kwargs)


class DockerKind(RunOnly):
    """A sandbox that says it is docker: the checker swaps in a docker sandbox on its image."""

    kind = "docker"
