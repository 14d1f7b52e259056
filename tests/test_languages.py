"""One registered spec per language (`proofsmith.languages`): a toy language is one module plus one registration.

`echo_language.py` is the whole of the toy language "echo" (a checker module
and its `LanguageSpec`). Registering it, and nothing else, makes tasks in it
valid, checkable, promptable, extractable, served, red-teamed and reported by
doctor; unregistering it takes it out of all of those again. The built-in
specs are pinned here too, so the registry keeps what the per-module lists
said before it.
"""

from __future__ import annotations

import pytest
from echo_language import SPEC
from pydantic import ValidationError

from proofsmith import doctor, languages, redteam
from proofsmith.languages import LanguageSpec
from proofsmith.models.prompts import build_messages, fence_for, kind_for
from proofsmith.provers import check, validate_task
from proofsmith.schema import Candidate, Task
from proofsmith.search.candidates import ANSWER_TOKENS, to_candidate
from proofsmith.search.checker import SearchChecker
from proofsmith.serve.app import LANE_OF

BUILT_IN = ["python", "coq", "lean", "fstar", "smt"]


@pytest.fixture
def echo():
    """The toy language registered for one test, then removed."""
    languages.register(SPEC)
    yield SPEC
    languages.unregister(SPEC.name)


def echo_task(statement: str = "hello world") -> Task:
    return Task(id="e1", language="echo", kind="proof", statement=statement)


def test_tasks_in_a_language_are_valid_only_while_it_is_registered(echo):
    assert echo_task().language == "echo"
    assert Task.model_json_schema()["properties"]["language"]["enum"] == [*BUILT_IN, "echo"]
    languages.unregister("echo")
    with pytest.raises(ValidationError, match="Input should be 'python', 'coq', 'lean', 'fstar' or 'smt'"):
        echo_task()


def test_the_registered_checker_module_checks_its_tasks(echo, bwrap_or_skip):
    task = echo_task()
    assert validate_task(task) is None
    right = check(task, Candidate(task_id="e1", text="hello world\n"), sandbox="bwrap", use_cache=False)
    wrong = check(task, Candidate(task_id="e1", text="hello"), sandbox="bwrap", use_cache=False)
    assert (right.status, right.manifest.checker, right.manifest.sandbox) == ("verified", "echo", "bwrap")
    assert (wrong.status, wrong.reason) == ("refuted", "wrong_answer")


def test_search_and_prompts_read_the_spec(echo):
    task = echo_task()
    assert ANSWER_TOKENS["echo"] == 32 and "echo" in ANSWER_TOKENS
    assert kind_for(task) == "echo_answer" and kind_for(task, step=True) == "echo_answer"
    assert fence_for("echo_answer") == "echo"
    prompt = build_messages(task)[-1].content
    assert prompt.startswith("Repeat the following statement exactly") and "```echo\nhello world\n```" in prompt
    assert to_candidate(task, "Sure:\n```echo\nhello world\n```\n").text.strip() == "hello world"
    # no step mode: the search asks for whole answers
    with SearchChecker() as checker:
        assert not checker.can_step(task)


def test_serve_redteam_and_doctor_read_the_spec(echo, tmp_path, bwrap_or_skip):
    assert LANE_OF["echo"] == "python"
    assert redteam.checkers() == (*BUILT_IN, "echo") and redteam.CHECKERS == redteam.checkers()
    assert "echo" not in redteam.warm_checkers()
    (tmp_path / "tasks.json").write_text('{"echo_hi": {"language": "echo", "kind": "proof", "statement": "hi"}}')
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "say_something_else.echo").write_text(
        "// attack: answer with another statement\n// task: echo_hi\n// expect: refuted\n"
        "// rule: the answer must be the statement\n\nbye\n")
    cases, tasks = redteam.load_corpus(tmp_path)
    assert [(c.name, c.checker, c.text.strip()) for c in cases] == [("echo/say_something_else", "echo", "bye")]
    result = redteam.run_case(cases[0], tasks["echo_hi"], sandbox="bwrap")
    assert (result.outcome, result.as_expected) == ("refuted", True)
    assert [f for f in doctor.language_findings() if f.name == "echo"] == [
        doctor.Finding("echo", True, "built in (nothing to install)")]


def test_unregistering_takes_the_language_out_of_every_list(echo):
    languages.unregister("echo")
    assert "echo" not in ANSWER_TOKENS and "echo" not in LANE_OF and "echo" not in redteam.checkers()
    assert languages.names() == BUILT_IN


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="registered already"):
        languages.register(SPEC.model_copy(update={"name": "coq"}))
    languages.register(languages.get("coq"))  # the same spec again changes nothing
    assert languages.names() == BUILT_IN


def test_the_built_in_specs_keep_what_the_per_module_lists_said():
    """The lists the registry replaced (provers._CHECKERS, ANSWER_TOKENS, STEP_LANGUAGES, LANE_OF, redteam's)."""
    assert languages.names() == BUILT_IN
    assert {s.name: s.checker for s in languages.specs()} == {n: f"proofsmith.provers.{n}" for n in BUILT_IN}
    assert dict(ANSWER_TOKENS) == {"python": 512, "coq": 256, "lean": 512, "fstar": 512, "smt": 512}
    assert {s.name for s in languages.specs() if s.steps} == {"coq", "lean"}
    assert dict(LANE_OF) == {"python": "python", "coq": "coq"}
    assert redteam.warm_checkers() == ("python", "smt")
    assert {s.case_suffix: s.name for s in languages.specs()} == {
        ".py": "python", ".v": "coq", ".lean": "lean", ".fst": "fstar", ".smt2": "smt"}


def test_a_spec_name_is_a_plain_identifier():
    with pytest.raises(ValidationError):
        LanguageSpec(name="Echo Lang", checker="x", fence="x")


@pytest.mark.slow
def test_the_service_refuses_a_language_without_a_lane_with_one_line(bwrap_or_skip):
    """SMT, Lean and F* have no serve lane: /v1/check answered 500 `KeyError: 'smt'` before; now 422 naming why."""
    httpx = pytest.importorskip("httpx", reason="the serve extra is not installed: pip install 'proofsmith[serve]'")
    from proofsmith.serve.launch import ServerProcess

    task = redteam.load_tasks()["smt_gray_encode"].model_dump(mode="json")
    candidate = {"task_id": task["id"], "text": "def gray_encode(x):\n    return x ^ (x >> 1)\n"}
    with ServerProcess(["--python-workers", "1", "--coq-workers", "1"]) as srv:
        reply = httpx.post(f"{srv.url}/v1/check", json={"items": [{"task": task, "candidate": candidate}]}, timeout=60)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == ("items.0.task: smt tasks are not checked by this service "
                                     "(it checks python and coq tasks)")
