"""Whole answers: the prompt that asks for one, and the Candidate pulled out of the model's output."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from proofsmith import languages
from proofsmith.models.base import Policy
from proofsmith.models.extract import ExtractionError, extract_block, extract_coq_proof, python_candidate
from proofsmith.models.prompts import STOP, Example, Feedback, Message, build_messages, fence_for, kind_for, render
from proofsmith.schema import Candidate, Task

#: Tokens a whole answer may take, per language (`LanguageSpec.answer_tokens`).
ANSWER_TOKENS = languages.FieldView("answer_tokens")


def answer_prompt(task: Task, policy: Policy, feedback: Feedback | None = None,
                  examples: Sequence[Example] = (), counterexamples: Sequence[str] = ()) -> str:
    """The prompt asking for a whole proof or program (with the checker's complaint about `feedback`, and the
    `counterexamples` earlier wrong answers failed on)."""
    return render(build_messages(task, feedback=feedback, examples=examples, counterexamples=counterexamples),
                  policy.chat_template, system_prompt=policy.system_prompt)


def prefilled_prompt(task: Task, policy: Policy, answer_so_far: str, examples: Sequence[Example] = ()) -> str:
    """The whole-answer prompt with the reply started: inside the code block, after `answer_so_far`."""
    fence = fence_for(kind_for(task))
    messages = [*build_messages(task, examples=examples),
                Message(role="assistant", content=f"```{fence}\n{answer_so_far}")]
    return render(messages, policy.chat_template, system_prompt=policy.system_prompt)


def answer_head(task: Task) -> str:
    """The statement a program answer starts with, when it is the entry point's signature and docstring; else ''.

    A step search that writes the program a chunk at a time starts after it: the 0.5B model otherwise spends its
    first steps (whole model calls) writing imports, the signature and the docstring out again, about half of its
    generated lines on the bitvec suite. Only a statement that is a module whose last statement is `def
    entry_point` with a docstring and nothing else qualifies, so the answer is the statement plus a body.
    """
    spec = languages.get(task.language)
    if spec is None or not spec.python_answer(task.options) or not task.entry_point:
        return ""
    try:
        module = ast.parse(task.statement)
    except (SyntaxError, ValueError):
        return ""
    last = module.body[-1] if module.body else None
    if not (isinstance(last, ast.FunctionDef) and last.name == task.entry_point and len(last.body) == 1
            and ast.get_docstring(last) is not None):
        return ""
    return task.statement.rstrip() + "\n"


def answer_stops(policy: Policy) -> list[str]:
    """Stop strings for a whole answer: the end of the model's turn, or its code block's closing fence."""
    # what small models write after the code block is prose: half the tokens, none of the answer
    return [*STOP.get(policy.chat_template, []), "\n```\n"]


def to_candidate(task: Task, output: str, candidate_id: str | None = None) -> Candidate:
    """The Candidate in a model's output; ExtractionError when it holds none."""
    spec = languages.get(task.language)
    if spec is not None and spec.python_answer(task.options):
        return python_candidate(task, output, candidate_id)
    if spec is None or spec.whole_prompt is None:
        raise ExtractionError(f"no extractor for {task.language} answers")
    if spec.extract == "coq_proof":
        return Candidate(task_id=task.id, id=candidate_id, text=extract_coq_proof(output, task.statement))
    return Candidate(task_id=task.id, id=candidate_id, text=extract_block(output, spec.fence))
