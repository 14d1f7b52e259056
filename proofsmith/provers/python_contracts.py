"""The Python checker's symbolic check of a program's contracts with CrossHair (built on Z3), beside its tests.

A Python task opts in with `options: {"contracts": "crosshair"}`. Functions of
the program that carry PEP 316 docstring contracts (`pre: x >= 0`,
`post: __return__ >= 0` lines) are explored by `crosshair check
--analysis_kind=PEP316` in the sandbox. The outcome is reported beside the
tests, as one diagnostic of the verdict (`contracts (CrossHair): ...`); it
never changes the verdict's status, because CrossHair's search is bounded:
"no counterexample found within N s per condition" is evidence, not a proof.

CrossHair runs under the system CPython (the one candidates run under: the
same minor version as the environment it is installed in), with its
site-packages bound read-only into the bwrap sandbox (or read in place under
the process sandbox).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from proofsmith.sandbox import Sandbox, SandboxUnsupported, seen_at, spawning, with_binds
from proofsmith.sandbox.tools import CANDIDATE_PYTHON
from proofsmith.schema import Diagnostic, Limits, Task

#: Where CrossHair's site-packages appear inside the bwrap sandbox.
SANDBOX_SITE = "/opt/proofsmith/site"
#: Seconds CrossHair spends on each condition.
PER_CONDITION_S = 3.0
_CONTRACT = re.compile(r"^\s*(pre|post)(\[[^\]]*\])?:", re.MULTILINE)
_LAUNCH = ("import sys; sys.path[:0] = [{site!r}]; sys.argv = ['crosshair', *sys.argv[1:]]; "
           "from crosshair.main import main; main()")


class ContractReport(BaseModel):
    """What the symbolic check of a program's contracts found."""

    model_config = ConfigDict(extra="forbid")

    #: `counterexample`: a contract fails on an input CrossHair found; `none_found`: none within the
    #: time per condition (not a proof); `unknown`: CrossHair could not run or gave no answer
    status: Literal["counterexample", "none_found", "unknown"]
    messages: list[str]

    def diagnostic(self) -> Diagnostic:
        """The report as one verdict diagnostic, apart from the tests' own."""
        head = {"counterexample": "a contract fails", "none_found":
                f"no contract violation found ({PER_CONDITION_S:g} s per condition; bounded, not a proof)",
                "unknown": "not checked"}[self.status]
        body = "; ".join(self.messages[:5])
        return Diagnostic(message=f"contracts (CrossHair): {head}" + (f": {body}" if body else ""),
                          severity="warning" if self.status == "counterexample" else "info")


def wanted(task: Task) -> bool:
    """Whether the task asks for the contract check."""
    return task.options.get("contracts") == "crosshair"


def has_contracts(program: str) -> bool:
    """Whether the program has PEP 316 `pre:`/`post:` lines at all."""
    return bool(_CONTRACT.search(program))


def site_packages() -> str | None:
    """The directory CrossHair is installed in, or None when it is not installed."""
    try:
        import crosshair
    except ImportError:
        return None
    return str(Path(crosshair.__file__).resolve().parent.parent)


def check_contracts(program: str, sandbox: Sandbox, limits: Limits) -> ContractReport:
    """Run CrossHair on `program` in the sandbox; never raises for what the program does."""
    if not has_contracts(program):
        return ContractReport(status="unknown", messages=["the program has no `pre:`/`post:` docstring contracts"])
    site = site_packages()
    if site is None:
        return ContractReport(status="unknown", messages=["CrossHair is not installed (pip install crosshair-tool)"])
    try:
        box = with_binds(spawning(sandbox), [(site, SANDBOX_SITE)])
    except SandboxUnsupported:
        raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot run CrossHair: use bwrap or process") from None
    inside = seen_at(box, (site, SANDBOX_SITE))
    wall = max(limits.wall_s, 4 * PER_CONDITION_S) + 10.0
    run_limits = Limits(wall_s=wall, cpu_s=wall, memory_mb=max(1024, limits.memory_mb), pids=16,
                        output_bytes=1 << 20, file_size_mb=16, open_files=256)
    argv = [CANDIDATE_PYTHON, "-S", "-c", _LAUNCH.format(site=inside), "check", "--analysis_kind=PEP316",
            f"--per_condition_timeout={PER_CONDITION_S:g}", "candidate.py"]
    run = box.run(argv, {"candidate.py": program}, run_limits, env={"PYTHONDONTWRITEBYTECODE": "1"})
    if run.error:
        return ContractReport(status="unknown", messages=[run.error])
    if run.limit_hit:
        return ContractReport(status="unknown", messages=[f"CrossHair hit its {run.limit_hit} limit"])
    found = [line.split("candidate.py:", 1)[-1].strip() for line in run.stdout.splitlines() if ": error:" in line]
    if found:
        return ContractReport(status="counterexample", messages=[f"line {m}" for m in found])
    if run.exit_code == 0:
        return ContractReport(status="none_found", messages=[])
    tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or [f"exit {run.exit_code}"]
    return ContractReport(status="unknown", messages=[f"CrossHair failed: {tail[0][:300]}"])


def python_version_matches() -> bool:
    """Whether the candidates' CPython has the minor version CrossHair was installed for (its C tracer needs it)."""
    import subprocess

    try:
        out = subprocess.run([CANDIDATE_PYTHON, "-c", "import sys; print(sys.version_info[:2])"], check=False,
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return False
    return out == str(tuple(sys.version_info[:2]))
