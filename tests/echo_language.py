"""A toy language, "echo", for tests/test_languages.py: the whole of what adding a language takes.

Its checker verifies an answer that repeats the task's statement and refutes
any other; it needs no toolchain and ignores the sandbox. It is not a stand-in
for any real prover: it is the smallest checker module there can be, plus the
one `LanguageSpec` that registers it (`SPEC`).
"""

from __future__ import annotations

import time

from proofsmith import __version__
from proofsmith.doctor import Finding
from proofsmith.languages import LanguageSpec
from proofsmith.schema import Candidate, Diagnostic, Manifest, Task, Verdict

SPEC = LanguageSpec(
    name="echo", checker=__name__, answer_tokens=32, fence="echo", whole_prompt="echo_answer",
    prompt_texts={"echo_answer": "Repeat the following statement exactly, in one ```echo block."},
    serve_lane="python", case_suffix=".echo", comment=("//", ""), doctor=(f"{__name__}:doctor_finding",),
)


def validate(task: Task) -> str | None:
    """Every echo task can be checked."""
    return None


def manifest(task: Task, sandbox, efficiency: str | None) -> Manifest:
    """How an echo verdict was made."""
    return Manifest(checker="echo", checker_version="1", proofsmith_version=__version__, limits=task.limits,
                    sandbox=sandbox.kind)


def check(task: Task, candidate: Candidate, *, sandbox, efficiency: str | None = None) -> Verdict:
    """Verified when the candidate repeats the statement (surrounding blanks aside), refuted otherwise."""
    started = time.monotonic()
    same = candidate.text.strip() == task.statement.strip()
    return Verdict(task_id=task.id, candidate_id=candidate.id, status="verified" if same else "refuted",
                   reason=None if same else "wrong_answer", reward=1.0 if same else 0.0,
                   diagnostics=[] if same else [Diagnostic(message="the answer is not the statement")],
                   wall_s=time.monotonic() - started, manifest=manifest(task, sandbox, efficiency))


def doctor_finding() -> Finding:
    """The doctor line: echo needs nothing installed."""
    return Finding("echo", True, "built in (nothing to install)")
