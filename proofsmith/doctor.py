"""What this machine offers proofsmith: isolation layers and toolchains.

`proofsmith doctor` prints one `Finding` per line. Each is either ok (with
what was found) or missing (with the command or setting that fixes it), so a
new user sees at once why a check would come back `unknown`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from proofsmith import languages


@dataclass(frozen=True)
class Finding:
    """One line of the report: a component, whether it works, and what was found or how to fix it."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The report line, e.g. `valgrind   missing: apt-get install valgrind ...`."""
        return f"{self.name:<10} {'ok' if self.ok else 'missing'}: {self.detail}"


def _version(argv: list[str]) -> str | None:
    """First non-empty output line of a `--version` call, or None when it cannot run."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip():
            return line.strip()
    return ""


def sandbox_finding() -> tuple[Finding, list[str]]:
    """The default (`auto`) sandbox and its layers; the layers are returned for the cgroup line."""
    from proofsmith.sandbox import get_sandbox

    try:
        box = get_sandbox("auto")
        layers = box.layers()
    except Exception as exc:  # noqa: BLE001 - any failure here is what the user needs to read
        return Finding("sandbox", False, f"the default sandbox cannot start ({exc})"), []
    detail = f"{box.kind}: {', '.join(layers)}"
    if box.kind == "process":
        detail += " (fallback without network or filesystem isolation: install bubblewrap)"
    return Finding("sandbox", True, detail), layers


def bwrap_finding() -> Finding:
    """bubblewrap: installed, its version, and whether it can build namespaces here."""
    from proofsmith.sandbox import probe

    if shutil.which("bwrap") is None:
        return Finding("bwrap", False, "apt-get install bubblewrap (the default sandbox), or `make install`")
    version = _version(["bwrap", "--version"]) or "unknown version"
    if not probe.bwrap_works():
        return Finding("bwrap", False, f"{version} installed but cannot create namespaces here: enable unprivileged "
                       "user namespaces (sysctl kernel.unprivileged_userns_clone=1) or use --sandbox process")
    return Finding("bwrap", True, version)


def cgroup_finding(layers: list[str]) -> Finding:
    """Which cgroup hierarchy the machine has, and whether proofsmith can write limits into it."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        version = "v2"
    elif (root / "memory").is_dir():
        version = "v1"
    else:
        return Finding("cgroup", False, "no cgroup hierarchy mounted: memory is capped by RLIMIT_AS only "
                       "(mount cgroup2 on /sys/fs/cgroup)")
    controls = [layer.split("-", 1)[1] for layer in layers if layer.startswith("cgroup")]
    if not controls:
        return Finding("cgroup", False, f"{version} present but not writable here: memory is capped by RLIMIT_AS "
                       "only (run as root, or delegate a cgroup to this user)")
    return Finding("cgroup", True, f"{version}, per-slot {' and '.join(controls)} limits")


def seccomp_finding() -> Finding:
    """Whether the seccomp filter compiles (libseccomp + pyseccomp)."""
    from proofsmith.sandbox import seccomp

    try:
        bpf = seccomp.filter_bpf()
    except seccomp.SeccompUnavailable as exc:
        return Finding("seccomp", False, str(exc))
    return Finding("seccomp", True, f"filter of {len(bpf) // 8} BPF instructions, "
                   f"{len(seccomp.DENIED_SYSCALLS)} syscalls denied")


def python_finding() -> Finding:
    """The interpreter candidates run under."""
    from proofsmith.sandbox.tools import CANDIDATE_PYTHON

    version = _version([CANDIDATE_PYTHON, "--version"])
    if version is None:
        return Finding("python", False, f"{CANDIDATE_PYTHON} does not run: apt-get install python3 "
                       "(or point PROOFSMITH_PYTHON at an interpreter outside /root)")
    return Finding("python", True, f"{version} at {CANDIDATE_PYTHON}")


def tool_finding(name: str, argv: list[str], fix: str) -> Finding:
    """A command-line toolchain: its version, or the install line `fix`."""
    version = _version(argv) if shutil.which(argv[0]) else None
    if version is None:
        return Finding(name, False, fix)
    return Finding(name, True, version or "installed")


def valgrind_finding() -> Finding:
    """Valgrind, which `--efficiency exact` counts a Python candidate's instructions with."""
    return tool_finding("valgrind", ["valgrind", "--version"], "apt-get install valgrind (needed for --efficiency exact)")


def coqc_finding() -> Finding:
    """The Coq compiler the Coq checker runs."""
    return tool_finding("coqc", ["coqc", "--version"], "apt-get install coq (needed for Coq tasks)")


def z3_finding() -> Finding:
    """Z3 for SMT tasks, from PyPI `z3-solver` or a `z3` binary."""
    if importlib.util.find_spec("z3") is not None:
        try:
            return Finding("z3", True, f"z3-solver {importlib.metadata.version('z3-solver')} (Python bindings)")
        except importlib.metadata.PackageNotFoundError:
            return Finding("z3", True, "z3 Python bindings")
    return tool_finding("z3", ["z3", "--version"], "pip install z3-solver (needed for SMT tasks)")


def docker_finding() -> Finding:
    """Whether a Docker engine answers (only `--sandbox docker` needs one)."""
    if importlib.util.find_spec("docker") is None:
        return Finding("docker", False, "pip install 'proofsmith[docker]' (only for --sandbox docker)")
    import docker

    try:
        client = docker.from_env(timeout=5)
        version = client.version().get("Version", "?")
        client.close()
    except Exception as exc:  # noqa: BLE001 - the docker SDK raises many unrelated types for "no engine"
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return Finding("docker", False, f"no engine answers at {where} ({reason}): start dockerd or set DOCKER_HOST "
                       "(only for --sandbox docker)")
    return Finding("docker", True, f"engine {version} reachable")


def _image_finding(name: str, image: str) -> Finding:
    """A checker image for --sandbox docker: present in the engine, or how to build it."""
    try:
        from proofsmith.sandbox.docker import DockerUnavailable, _client

        client = _client()
    except (ImportError, DockerUnavailable) as exc:
        return Finding(name, False, f"image {image} configured but no Docker engine answers ({exc})")
    try:
        client.images.get(image)
    except Exception:  # noqa: BLE001 - ImageNotFound or an engine error: either way the image is not usable
        return Finding(name, False, f"image {image} is not in the engine: `make images` (containers/README.md)")
    finally:
        client.close()
    return Finding(name, True, f"checks run in the docker image {image} (--sandbox docker)")


def lean_finding() -> Finding:
    """The Lean REPL the Lean checker would start: configured?, stand-in?, Lean's version, or what to do."""
    from proofsmith.provers import lean

    tc = lean.toolchain_from_env()
    if tc is None:
        image = os.environ.get("PROOFSMITH_LEAN_IMAGE")
        if image:
            return _image_finding("lean", image)
        found = shutil.which("lean")
        if found:
            return Finding("lean", False, f"{_version([found, '--version']) or 'lean'} on PATH but no REPL configured: "
                           "build leanprover-community/repl and set PROOFSMITH_LEAN_REPL='lake env repl' and "
                           "PROOFSMITH_LEAN_PROJECT=<project>")
        return Finding("lean", False, f"no Lean toolchain: `make images` and use --sandbox docker with "
                       f"PROOFSMITH_LEAN_IMAGE={lean.DEFAULT_IMAGE} (containers/README.md), or install elan, the "
                       "REPL and Mathlib and set PROOFSMITH_LEAN_REPL")
    if tc.standin:
        return Finding("lean", False, "PROOFSMITH_LEAN_REPL=standin is the test stand-in, NOT Lean: no real proof "
                       "is checked (install Lean, see containers/README.md)")
    version = lean.lean_version(tc)
    return Finding("lean", True, f"REPL `{tc.describe()}`" + (f" in {tc.cwd}" if tc.cwd else "") + f", {version}")


def fstar_finding() -> Finding:
    """The F* the F* checker would start: configured or on PATH, its version, or what to do."""
    from proofsmith.provers import fstar

    tc = fstar.toolchain_from_env()
    if tc is None:
        image = os.environ.get("PROOFSMITH_FSTAR_IMAGE")
        if image:
            return _image_finding("fstar", image)
        return Finding("fstar", False, f"no F*: `make images` and use --sandbox docker with "
                       f"PROOFSMITH_FSTAR_IMAGE={fstar.DEFAULT_IMAGE} (containers/README.md), or install an F* "
                       "release (with its Z3) and set PROOFSMITH_FSTAR=/path/to/fstar.exe")
    if tc.standin:
        return Finding("fstar", False, "PROOFSMITH_FSTAR=standin is the test stand-in, NOT F*: no real definition "
                       "is checked (install F*, see containers/README.md)")
    version = fstar.fstar_version(tc)
    if version == "unknown":
        return Finding("fstar", False, f"`{tc.describe()}` does not run (`--version` failed): check "
                       "PROOFSMITH_FSTAR")
    return Finding("fstar", True, f"{version} (`{tc.describe()}`)")


def findings() -> list[Finding]:
    """Every check `proofsmith doctor` reports, in display order."""
    sandbox, layers = sandbox_finding()
    return [
        sandbox,
        bwrap_finding(),
        cgroup_finding(layers),
        seccomp_finding(),
        *language_findings(),
        docker_finding(),
    ]


def language_findings() -> list[Finding]:
    """Each registered language's probes (`LanguageSpec.doctor`, "module:function"), in registration order."""
    found = []
    for spec in languages.specs():
        for probe in spec.doctor:
            module, _, function = probe.partition(":")
            found.append(getattr(importlib.import_module(module), function)())
    return found
