"""The fallback sandbox: rlimits, a separate uid and the slot cgroup only.

For machines without bubblewrap. It does NOT isolate the network or the
filesystem (a candidate can open sockets and read world-readable files), and
says so once, on stderr, when it is created.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence

from proofsmith.sandbox.capabilities import BoxKind
from proofsmith.sandbox.leftovers import temp_dir
from proofsmith.sandbox.slots import SlotPool
from proofsmith.sandbox.supervise import Running, launch, run_via_spawn
from proofsmith.schema import Limits

WARNING = "proofsmith: warning: the 'process' sandbox does not isolate the network or the filesystem; install bubblewrap for the default sandbox"


class ProcessSandbox:
    """Plain subprocess as an unprivileged slot uid, with rlimits and cgroups."""

    kind: BoxKind = "process"

    def __init__(self, slots: int = 8, *, use_cgroups: bool = True, warn: bool = True) -> None:
        if os.geteuid() != 0:
            raise PermissionError("the process sandbox drops to a slot uid and needs root; run as root or use bwrap")
        self.slots = SlotPool(slots, use_cgroups=use_cgroups)
        if warn:
            print(WARNING, file=sys.stderr)

    def layers_for(self, slot) -> list[str]:
        """Layers for a run in `slot`."""
        return ["uid", "no-new-privs", "rlimits", *slot.cgroup.layers]

    def layers(self) -> list[str]:
        """Isolation layers active for a run (every slot's cgroup is set up alike)."""
        return self.layers_for(self.slots.any_slot())

    def spawn(
        self,
        argv: Sequence[str],
        files: Mapping[str, str | bytes],
        limits: Limits,
        *,
        pass_fds: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> Running:
        """Start `argv` in a fresh work dir holding `files`."""
        slot = self.slots.acquire()
        workdir = temp_dir("work")
        stdin_fd = None
        try:
            for name, content in files.items():
                path = os.path.join(workdir, name)
                with open(path, "wb") as fh:
                    fh.write(content.encode() if isinstance(content, str) else content)
                os.chown(path, slot.uid, slot.uid)
            os.chown(workdir, slot.uid, slot.uid)
            if stdin is not None:
                stdin_fd = os.memfd_create("stdin", 0)
                os.write(stdin_fd, stdin)
                os.lseek(stdin_fd, 0, os.SEEK_SET)
            base_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir}

            def done() -> None:
                shutil.rmtree(workdir, ignore_errors=True)
                self.slots.release(slot)

            return launch(
                list(argv),
                slot=slot,
                limits=limits,
                env={**base_env, **(env or {})},
                cwd=workdir,
                pass_fds=pass_fds,
                stdin=stdin_fd,
                sandbox=self.kind,
                isolation=self.layers_for(slot),
                on_exit=done,
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            self.slots.release(slot)
            raise
        finally:
            if stdin_fd is not None:
                os.close(stdin_fd)

    run = run_via_spawn
