"""Start-up probes: which isolation layers and toolchains this machine offers."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Whether bubblewrap can build its namespaces here (as an unprivileged uid)."""
    binary = shutil.which("bwrap")
    if binary is None:
        return False
    def drop() -> None:
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)

    try:
        proc = subprocess.run(
            [binary, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
             "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
             "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "/bin/true"],
            capture_output=True, timeout=10, preexec_fn=drop, cwd="/",
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0
