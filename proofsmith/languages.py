"""The languages proofsmith checks, one registered `LanguageSpec` each.

Everything outside a language's checker module that depends on which
language a task is in reads it from here: `schema.Task` accepts the
registered names, `provers.check` imports the spec's checker module, the
search sizes and extracts answers by it, `models.prompts` picks the prompt
kind, `serve` routes to its lane, `redteam` reads its corpus files and
`doctor` runs its probes. Adding a language is one checker module plus one
`register(LanguageSpec(...))` call.

This module imports nothing from proofsmith, so any layer may read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The service's lanes (`proofsmith.serve`): each has its own worker processes.
ServeLane = Literal["python", "coq"]


class LanguageSpec(BaseModel):
    """What the rest of proofsmith needs to know about one language besides its checker module."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: the `Task.language` value
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: the module with `validate(task)`, `manifest(task, sandbox, efficiency)` and `check(task, candidate, ...)`
    checker: str
    #: the most tokens a whole answer may take
    answer_tokens: int = Field(default=512, gt=0)
    #: the code-fence tag a prompt asks for and the extractor looks for
    fence: str
    #: the answer may be a Python function: chosen by the task option `candidate_format: python` (its default)
    python_answers: bool = False
    #: the prompt kind (`models.prompts`) for a whole answer in the language's own syntax; None: none
    whole_prompt: str | None = None
    #: the prompt kind for one step of step-level search; None: steps are asked for as whole answers
    step_prompt: str | None = None
    #: instructions for prompt kinds `models.prompts` does not hold (a new language's own)
    prompt_texts: dict[str, str] = Field(default_factory=dict)
    #: how a whole answer is pulled out of a fenced block: as it is, or as a Coq proof script
    extract: Literal["block", "coq_proof"] = "block"
    #: the checker has a step mode (`open`/`step`) for step-level search; `search.checker.SearchChecker` opens
    #: the sessions, and knows Coq's and Lean's only: a new step language needs its session pool added there
    steps: bool = False
    #: the `proofsmith serve` lane whose workers check it; None: the service does not check it
    serve_lane: ServeLane | None = None
    #: the red-team corpus: the file suffix of its cases, None when it has none
    case_suffix: str | None = None
    #: how a one-line comment opens and closes (the red-team case headers)
    comment: tuple[str, str] = ("#", "")
    #: its red-team cases also run under the warm pool (its candidates run there)
    warm: bool = False
    #: `proofsmith doctor` probes, "module:function" each, returning a `doctor.Finding`
    doctor: tuple[str, ...] = ()

    def python_answer(self, options: Mapping[str, Any]) -> bool:
        """Whether a task of this language with these `options` is answered with a Python function."""
        return self.python_answers and options.get("candidate_format", "python") == "python"


_REGISTRY: dict[str, LanguageSpec] = {}


def register(spec: LanguageSpec) -> LanguageSpec:
    """Add a language; ValueError when its name is taken by another spec (re-registering the same is a no-op)."""
    known = _REGISTRY.get(spec.name)
    if known is not None and known != spec:
        raise ValueError(f"language {spec.name!r} is registered already (by {known.checker})")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a language (for tests that register a toy one)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> LanguageSpec | None:
    """The spec of a registered language, or None."""
    return _REGISTRY.get(name)


def specs() -> list[LanguageSpec]:
    """Every registered language, in registration order (the order tables and reports list them)."""
    return list(_REGISTRY.values())


def names() -> list[str]:
    """The registered language names, in registration order."""
    return list(_REGISTRY)


def described() -> str:
    """The names as a pydantic literal error lists them: `'python', 'coq' or 'smt'`."""
    quoted = [repr(n) for n in _REGISTRY]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class FieldView(Mapping[str, Any]):
    """A read-only name -> spec field mapping that follows the registry (languages registered later included)."""

    def __init__(self, field: str, *, skip_none: bool = True) -> None:
        self._field = field
        self._skip_none = skip_none

    def _items(self) -> dict[str, Any]:
        values = {s.name: getattr(s, self._field) for s in _REGISTRY.values()}
        return {k: v for k, v in values.items() if v is not None} if self._skip_none else values

    def __getitem__(self, name: str) -> Any:
        return self._items()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __repr__(self) -> str:
        return f"FieldView({self._field!r}: {self._items()!r})"


_DOCTOR = "proofsmith.doctor:"

for _spec in (
    LanguageSpec(name="python", checker="proofsmith.provers.python", fence="python", python_answers=True,
                 serve_lane="python", case_suffix=".py", comment=("#", ""), warm=True,
                 doctor=(_DOCTOR + "python_finding", _DOCTOR + "valgrind_finding")),
    LanguageSpec(name="coq", checker="proofsmith.provers.coq", answer_tokens=256, fence="coq",
                 whole_prompt="coq_proof", step_prompt="coq_tactic", extract="coq_proof", steps=True,
                 serve_lane="coq", case_suffix=".v", comment=("(*", "*)"), doctor=(_DOCTOR + "coqc_finding",)),
    LanguageSpec(name="lean", checker="proofsmith.provers.lean", fence="lean", whole_prompt="lean_proof",
                 step_prompt="lean_tactic", steps=True, case_suffix=".lean", comment=("--", ""),
                 doctor=(_DOCTOR + "lean_finding",)),
    LanguageSpec(name="fstar", checker="proofsmith.provers.fstar", fence="fstar", whole_prompt="fstar_definition",
                 case_suffix=".fst", comment=("//", ""), doctor=(_DOCTOR + "fstar_finding",)),
    LanguageSpec(name="smt", checker="proofsmith.provers.smt", fence="smt", python_answers=True,
                 whole_prompt="smt_term", case_suffix=".smt2", comment=(";", ""), warm=True,
                 doctor=(_DOCTOR + "z3_finding",)),
):
    register(_spec)
