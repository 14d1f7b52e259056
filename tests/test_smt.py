"""The SMT checker on real Z3 (the z3-solver wheel's binary, in the real sandbox) and real Python runs."""

from __future__ import annotations

import ast
import random
import re

import pytest

z3 = pytest.importorskip("z3")

from proofsmith import provers
from proofsmith.datasets.bitvec import SPECS, load_tasks
from proofsmith.models.prompts import build_messages, feedback_from_verdict
from proofsmith.provers import smt
from proofsmith.provers.smt_python import translate
from proofsmith.schema import Candidate, Limits, Task

if smt.z3_version() is None:
    pytest.skip(smt.INSTALL_HINT, allow_module_level=True)

TASKS = {t.entry_point: t for t in load_tasks()}


def check(task: Task, text: str, **kw) -> provers.Verdict:
    return provers.check(task, Candidate(task_id=task.id, text=text), use_cache=False, **kw)


def cex_of(message: str) -> tuple[list, object]:
    """The counterexample's arguments and expected result, read back from the verdict's message."""
    match = re.search(r"counterexample: \w+\((.*?)\) .*the correct result is (.*?)\.", message)
    assert match, message
    return list(ast.literal_eval(f"({match.group(1)},)")), ast.literal_eval(match.group(2))


def run_python(task: Task, program: str, args: list, expected: object) -> provers.Verdict:
    """The Python checker (its own sandboxed judge) on one test: the result, mod 2**w, must equal `expected`."""
    sort = task.options["result"]
    mod = "" if sort in ("int", "bool") else f" % 2**{sort[1:]}"
    if sort == "bool":
        mod = ""
    body = f"bool(candidate(*{args!r}))" if sort == "bool" else f"candidate(*{args!r}){mod}"
    want = f"{expected!r} % 2**{sort[1:]}" if smt.is_bitvec(sort) and sort[0] == "i" else repr(expected)
    test = f"def check(candidate):\n    assert {body} == {want}\n"
    py = Task(id=task.id + "/run", language="python", kind="program", statement="", entry_point=task.entry_point,
              test_code=test)
    return provers.check(py, Candidate(task_id=py.id, text=program), use_cache=False)


@pytest.mark.slow
def test_the_suite_has_forty_tasks_and_every_reference_verifies():
    tasks = load_tasks()
    assert len(tasks) >= 40
    assert len({t.id for t in tasks}) == len(tasks)
    for task in tasks:
        assert provers.validate_task(task) is None, task.id
        assert task.source and task.source.licence == "Apache-2.0"
    # on four threads: each translation has its own z3 context (a shared one crashed the process)
    pairs = [(t, Candidate(task_id=t.id, text=t.reference)) for t in tasks]
    for (task, _), verdict in zip(pairs, provers.check_many(pairs, jobs=4, use_cache=False), strict=True):
        assert verdict.status == "verified", (task.id, verdict.diagnostics)


def test_other_correct_programs_verify():
    task = TASKS["turn_off_rightmost_one"]
    assert check(task, "def turn_off_rightmost_one(x):\n    return x - (x & -x)\n").status == "verified"
    avg = TASKS["average_floor"]
    # Python ints do not overflow, so the plain formula is right for all inputs (the result is taken mod 2**32)
    assert check(avg, "def average_floor(x, y):\n    return (x + y) // 2\n").status == "verified"
    branches = ("def abs_value(x):\n    if x < 0:\n        y = -x\n    else:\n        y = x\n    return y\n")
    assert check(TASKS["abs_value"], branches).status == "verified"


def test_an_smtlib_candidate_verifies_and_a_wrong_one_is_refuted():
    base = TASKS["turn_off_rightmost_one"]
    task = base.model_copy(update={"options": {**base.options, "candidate_format": "smtlib"}})
    assert check(task, "(bvand x (bvsub x #x00000001))").status == "verified"
    wrong = check(task, "(bvand x (bvadd x #x00000001))")
    assert wrong.status == "refuted" and wrong.reason == "counterexample"
    args, expected = cex_of(wrong.diagnostics[0].message)
    assert (args[0] & (args[0] - 1)) == expected


@pytest.mark.parametrize("name, wrong", [
    ("turn_off_rightmost_one", "def turn_off_rightmost_one(x):\n    return x & (x + 1)\n"),
    ("average_floor", "def average_floor(x, y):\n    return (x & y) + (x ^ y)\n"),
    ("abs_value", "def abs_value(x):\n    return x if x > 0 else x + 1\n"),
    ("is_power_of_two", "def is_power_of_two(x):\n    return x & (x - 1) == 0\n"),
    ("median3", "def median3(a, b, c):\n    return max(a, min(b, c))\n"),
])
def test_a_counterexample_really_fails_when_the_candidate_runs_on_it(name, wrong):
    task = TASKS[name]
    verdict = check(task, wrong)
    assert verdict.status == "refuted" and verdict.reason == "counterexample", verdict.diagnostics
    args, expected = cex_of(verdict.diagnostics[0].message)
    # the candidate, run by the Python checker in its sandbox on the counterexample, fails ...
    assert run_python(task, wrong, args, expected).status == "refuted"
    # ... and the reference on the same input gives the expected result
    assert run_python(task, task.reference, args, expected).status == "verified"


def test_runtime_errors_are_counterexamples_the_run_confirms():
    task = TASKS["turn_off_rightmost_one"]
    verdict = check(task, "def turn_off_rightmost_one(x):\n    return (x & (x - 1)) + 0 // (x - 5)\n")
    assert verdict.status == "refuted" and "raised ZeroDivisionError" in verdict.diagnostics[0].message
    assert "turn_off_rightmost_one(5)" in verdict.diagnostics[0].message
    # an input guard that valid inputs never reach is harmless; one they reach is a counterexample
    guarded = ("def turn_off_rightmost_one(x):\n    if x < 0 or x >= 2**32:\n        raise ValueError('range')\n"
               "    return x & (x - 1)\n")
    assert check(task, guarded).status == "verified"
    strict = guarded.replace("x >= 2**32", "x >= 2**31")
    raised = check(task, strict)
    assert raised.status == "refuted" and "raised ValueError: range" in raised.diagnostics[0].message
    missing = check(task, "def turn_off_rightmost_one(x):\n    if x > 3:\n        return x & (x - 1)\n")
    assert missing.status == "refuted" and "returned None" in missing.diagnostics[0].message


@pytest.mark.parametrize("program, construct", [
    ("def f(x):\n    for i in [1, 2]:\n        x += i\n    return x\n", "`for` loop over `list`"),
    # right wherever its loop ends within the unrolling, and x > 165 needs more: refused, not proved, not "wrong"
    ("def f(x):\n    n = x\n    while n > 100:\n        n -= 1\n    return x ^ (x >> 1)\n",
     "`while` loop (line 3) that runs more than 65"),
    ("def f(x):\n    return [x][0]\n", "subscript"),
    ("def f(x):\n    return bin(x).count('1')\n", "call to `bin(x).count`"),
    ("def f(x):\n    return f(x - 1) if x else 0\n", "recursion"),
    ("def f(x):\n    return x / 2\n", "`/` operator"),
    # each of these would crash in CPython, so none may verify
    ("M = 5\ndef f(x):\n    y = x ^ M\n    M = 3\n    return y\n", "local name `M` may be read before"),
    ("import numpy\ndef f(x):\n    return x ^ (x >> 1)\n", "import of `numpy`"),
    ("def f(x: np.uint32) -> int:\n    return x ^ (x >> 1)\n", "annotation `np.uint32`"),
    ("def f(x):\n    abs = 3\n    return abs(x)\n", "which is a variable here"),
])
def test_a_candidate_outside_the_subset_is_refuted_naming_the_construct(program, construct):
    base = TASKS["gray_encode"]
    task = base.model_copy(update={"entry_point": "f", "reference": base.reference.replace("gray_encode", "f")})
    verdict = check(task, program)
    assert verdict.status == "refuted" and verdict.reason == "unsupported"
    assert construct in verdict.diagnostics[0].message


def test_smtlib_terms_cannot_escape_their_definition_or_call_the_reference():
    base = TASKS["gray_encode"]
    task = base.model_copy(update={"options": {**base.options, "candidate_format": "smtlib"}})
    for term in ["(bvand x x)) (assert false", "x)) (check-sat", "(bvand x x) ; comment", "|x|", "(ps_expected)",
                 "(bvadd x y)", "(assert false)"]:
        verdict = check(task, term)
        assert verdict.status == "refuted", term
        assert verdict.reason == "syntax", (term, verdict.diagnostics)


def _fermat_task(**limits) -> Task:
    return Task(id="smt/fermat3", language="smt", kind="program", statement="", entry_point="f",
                options={"params": [["a", "int"], ["b", "int"], ["c", "int"]], "result": "bool",
                         "spec": "(= result (not (and (> a 0) (> b 0) (> c 0) "
                                 "(= (+ (* a a a) (* b b b)) (* c c c)))))", **limits.pop("options", {})},
                limits=Limits(**limits))


def test_a_spec_z3_cannot_decide_in_time_is_unknown_never_verified():
    verdict = check(_fermat_task(wall_s=4.0, cpu_s=4.0), "def f(a, b, c):\n    return True\n")
    assert verdict.status == "unknown"
    assert verdict.reason in ("timeout", "undecided")
    assert verdict.reward == 0.0


def test_a_z3_that_overruns_the_wall_limit_is_killed_from_outside():
    # Z3's own timeout set past the wall limit: only the sandbox can stop it
    task = _fermat_task(wall_s=2.0, cpu_s=30.0, options={"solver_timeout_s": 60})
    verdict = check(task, "def f(a, b, c):\n    return True\n")
    assert verdict.status == "unknown" and verdict.reason == "timeout"
    assert verdict.resources.limit_hit == "wall"
    assert verdict.wall_s < 10


def test_the_manifest_names_z3_its_options_and_seed():
    task = TASKS["gray_encode"]
    verdict = check(task, task.reference)
    man = verdict.manifest
    assert man.checker == "smt" and man.toolchain["z3"].startswith("Z3 version")
    assert man.options["seed"] == 0 and "sat.random_seed=0" in man.options["z3_args"]
    assert "seccomp" in man.isolation or man.sandbox == "process"


def test_the_process_sandbox_runs_z3_too():
    task = TASKS["gray_encode"]
    assert check(task, task.reference, sandbox="process").status == "verified"


def test_the_repair_prompt_shows_the_counterexample():
    task = TASKS["turn_off_rightmost_one"]
    wrong = "def turn_off_rightmost_one(x):\n    return x & (x + 1)\n"
    feedback = feedback_from_verdict(wrong, check(task, wrong))
    messages = build_messages(task, feedback=feedback)
    assert messages[-2].role == "assistant" and "x & (x + 1)" in messages[-2].content
    assert "counterexample: turn_off_rightmost_one(" in messages[-1].content
    assert "the correct result is" in messages[-1].content


def test_cegis_lists_the_counterexample_under_the_task_without_the_wrong_answer():
    """The model is the ScriptedPolicy test double; Z3, the sandbox and the confirming run are real."""
    from search_doubles import ScriptedPolicy

    from proofsmith.search import CEGIS, Budget, SearchChecker

    task = TASKS["turn_off_rightmost_one"]
    wrong = "def turn_off_rightmost_one(x):\n    return x & (x + 1)\n"
    right = "def turn_off_rightmost_one(x):\n    return x & (x - 1)\n"

    def script(prompt: str) -> list[str]:
        return [f"```python\n{right if 'counterexample: turn_off_rightmost_one(' in prompt else wrong}```"]

    policy = ScriptedPolicy(script)
    with SearchChecker() as checker:
        result = CEGIS().run(task, policy, checker, None, Budget(model_calls=4))
    assert result.solved and result.spend.model_calls == 2
    first, second = policy.prompts
    assert "Earlier answers were wrong" not in first
    assert "Earlier answers were wrong:\n- counterexample: turn_off_rightmost_one(" in second
    assert "x & (x + 1)" not in second  # samples stay independent: the wrong answer is not shown
    assert result.stats == {"counterexamples": 1}


def test_a_run_that_disagrees_with_z3_makes_the_verdict_unknown_not_refuted():
    cex = smt.Counterexample(entry_point="f", names=["x"], sorts=["u8"], args=[3], result_sort="u8", actual=7,
                             failure=None, expected=2, spec=None)
    assert cex.confirm(smt.Observed(outcome="returned", repr="7", value=7)) is None
    assert cex.confirm(smt.Observed(outcome="returned", repr="263", value=263)) is None  # 263 mod 256 = 7
    assert "translation" in cex.confirm(smt.Observed(outcome="returned", repr="2", value=2))
    assert cex.confirm(smt.Observed(outcome="raised", error="ZeroDivisionError")) is not None


def test_the_translation_agrees_with_cpython_on_random_inputs():
    """Every suite reference, translated, gives what CPython gives (exact int, before the cut to the width)."""
    rng = random.Random(0)
    for spec in SPECS:
        mode = "int" if "int" in [s for _, s in spec.params] + [spec.result] else "bv"
        params = smt.params_of(smt.SmtOptions(params=spec.params, result=spec.result, spec="true"))
        value, failures = translate(spec.reference, spec.name, params, mode)
        namespace: dict = {}
        exec(spec.reference, namespace)  # noqa: S102 - the project's own reference
        for _ in range(15):
            args = [rng.randint(p.lo, p.hi) if p.lo is not None else rng.randint(-1000, 1000) for p in params]
            subst = [(p.const, z3.BitVecVal(a, p.const.size()) if mode == "bv" else z3.IntVal(a))
                     for p, a in zip(params, args, strict=True)]
            assert not any(z3.is_true(z3.simplify(z3.substitute(f.cond, *subst))) for f in failures)
            got = z3.simplify(z3.substitute(value.expr, *subst))
            got = z3.is_true(got) if value.kind == "bool" else got.as_signed_long() if mode == "bv" else got.as_long()
            assert got == namespace[spec.name](*args), (spec.name, args)


def test_bad_tasks_get_one_line_problems():
    base = TASKS["gray_encode"]
    for options, fragment in [({**base.options, "result": "u0"}, "sort"),
                              ({**base.options, "params": [["result", "u8"]]}, "not allowed"),
                              ({**base.options, "params": [["x", "u8"], ["n", "int"]]}, "mix"),
                              ({**base.options, "spec": "(= result x"}, "unclosed")]:
        problem = provers.validate_task(base.model_copy(update={"options": options}))
        assert problem and fragment in problem and "\n" not in problem
    no_spec = base.model_copy(update={"options": {k: v for k, v in base.options.items() if k != "spec"},
                                      "reference": None})
    assert "give a spec" in provers.validate_task(no_spec)


# --------------------------------------------------------------------------- programs that do not load, or compute
# something else than the translation says: each is correct-looking to a translator that reads only the called
# function, and each would crash or answer wrong in CPython

GRAY = "def gray_encode(x):\n    return x ^ (x >> 1)\n"

#: (case, program for gray_encode or saturating_sub8, reason, a fragment of the message)
NOT_LOADING = [
    ("alias_builtin", "from builtins import min as max\ndef saturating_sub8(x, y):\n    return max(x - y, 0)\n",
     "unsupported", "`as`"),
    ("import_rebinds_entry", GRAY + "from operator import xor as gray_encode\n", "unsupported", "`as`"),
    ("from_import_rebinds_entry", GRAY + "from operator import gray_encode\n", "unsupported",
     "`gray_encode` is bound by an import"),
    ("assignment_rebinds_entry", GRAY + "gray_encode = 0\n", "unsupported", "`gray_encode` is not a function"),
    ("syntax_error", "def gray_encode(x):\n    return x +\n", "load_error", "SyntaxError: invalid syntax"),
    ("future_braces", "from __future__ import braces\n" + GRAY, "load_error", "not a chance"),
    ("from_import_missing_name", "from math import nonexistent\n" + GRAY, "load_error", "ImportError"),
    ("import_missing_module", "import winreg\n" + GRAY, "load_error", "ModuleNotFoundError"),
    ("constant_then_function", "K = 0\ndef K():\n    return 1\ndef gray_encode(x):\n    return x ^ (x >> 1) ^ K\n",
     "unsupported", "`K` is a function"),
    ("duplicate_argument", "def helper(a, a):\n    return a\n" + GRAY, "load_error", "duplicate argument"),
    ("unused_default_divides_by_zero", "def helper(a=1 // 0):\n    return a\n" + GRAY, "load_error",
     "ZeroDivisionError"),
    ("unused_undefined_decorator", "@cache\ndef helper(a):\n    return a\n" + GRAY, "unsupported", "decorator"),
    ("unused_undefined_annotation", "def helper(a: Word) -> int:\n    return a\n" + GRAY, "load_error",
     "NameError: name 'Word' is not defined"),
    ("constant_read_before_bound", "A = B\nB = 1\n" + GRAY, "load_error", "NameError: name 'B' is not defined"),
    ("star_import_shadows_builtin", "from builtins import *\ndef saturating_sub8(x, y):\n    return max(x - y, 0)\n",
     "unsupported", "`*`"),
    ("star_import_of_unmodelled_module", "from os import *\n" + GRAY, "unsupported", "`*`"),
    # the modelled star imports bind exactly what the candidates' interpreter binds, each name opaque: operator's
    # `*` shadows abs, math's rebinds a helper defined before it
    ("star_import_shadows_abs", "from operator import *\ndef gray_encode(x):\n    return abs(x) ^ (x >> 1)\n",
     "unsupported", "`abs`, which is bound by an import (`from operator import *`"),
    ("star_import_shadows_helper", "def gcd(x):\n    return x >> 1\nfrom math import *\ndef gray_encode(x):\n"
     "    return x ^ gcd(x)\n", "unsupported", "`gcd`, which is bound by an import"),
    # a function's builtins are its module's `__builtins__` when the def runs: rebinding it breaks abs() on the one
    # input that reaches it, which no probe is likely to draw
    ("dunder_builtins", "def __builtins__():\n    return 0\ndef gray_encode(x):\n    if x == 12345:\n"
     "        return abs(x) ^ (x >> 1)\n    return x ^ (x >> 1)\n", "unsupported", "`__builtins__`"),
    ("import_shadows_helper", "def g(x):\n    return x >> 1\nimport math as g\ndef gray_encode(x):\n"
     "    return x ^ g(x)\n", "unsupported", "`as`"),
]


@pytest.mark.parametrize("program, reason, fragment", [c[1:] for c in NOT_LOADING], ids=[c[0] for c in NOT_LOADING])
def test_a_program_that_does_not_load_or_computes_otherwise_is_refuted(program, reason, fragment):
    task = TASKS["saturating_sub8"] if "saturating_sub8" in program else TASKS["gray_encode"]
    verdict = check(task, program)
    assert verdict.status == "refuted", (verdict.status, verdict.reason, verdict.diagnostics)
    assert verdict.reason == reason, verdict.diagnostics
    assert fragment in verdict.diagnostics[0].message, verdict.diagnostics[0].message


@pytest.mark.parametrize("program", [
    # what an honest program may carry and still load and compute what the translation says
    "import math\n" + GRAY,
    "from typing import List\n" + GRAY,
    "from typing import *\nfrom collections import *\n" + GRAY,
    "from math import *\ndef gray_encode(x: int) -> int:\n    return x ^ max(x >> 1, 0)\n",
    "from __future__ import annotations\ndef gray_encode(x: Word) -> int:\n    return x ^ (x >> 1)\n",
    "def helper(a, b=3):\n    return a >> b\n" + GRAY,
    "def gray_encode(x: int) -> int:\n    return x ^ half(x)\ndef half(x):\n    return x >> 1\n",
    "K = 1\ndef gray_encode(x):\n    return x ^ (x >> K)\n",
    "def K():\n    return 1\nK = 1\ndef gray_encode(x):\n    return x ^ (x >> K)\n",
    "def shift(x, k=1):\n    return x >> k\ndef gray_encode(x):\n    return x ^ shift(x)\n",
])
def test_programs_that_load_and_compute_as_translated_still_verify(program):
    verdict = check(TASKS["gray_encode"], program)
    assert verdict.status == "verified", verdict.diagnostics


def test_a_star_import_the_checker_cannot_list_is_unknown_and_the_next_check_asks_again(monkeypatch):
    """The candidates' interpreter missing is the checker's failure: `unknown`, never `refuted`, and not kept."""
    from proofsmith.provers import smt_python
    from proofsmith.sandbox import tools

    program = "from typing import *\n" + GRAY
    monkeypatch.setattr(smt_python, "_star_names", None)
    monkeypatch.setattr(tools, "CANDIDATE_PYTHON", "/nonexistent/python3")
    verdict = check(TASKS["gray_encode"], program)
    assert (verdict.status, verdict.reason) == ("unknown", "internal"), verdict.diagnostics
    assert "PROOFSMITH_PYTHON" in verdict.diagnostics[0].message
    # a module outside the modelled ones is the candidate's fault whatever the interpreter can say
    assert check(TASKS["gray_encode"], "from os import *\n" + GRAY).reason == "unsupported"
    monkeypatch.undo()
    monkeypatch.setattr(smt_python, "_star_names", None)
    assert check(TASKS["gray_encode"], program).status == "verified"


def _warm_or_skip():
    from proofsmith.sandbox import get_sandbox, probe

    if not probe.bwrap_works():
        pytest.skip("bubblewrap cannot create its namespaces here (the warm pool runs on it)")
    return get_sandbox("warm")


def test_under_the_warm_pool_smt_checks_decide_as_under_bwrap():
    """`--sandbox warm` (kind `bwrap-warm`): Z3 and the candidate's runs go to bwrap, as under `--sandbox bwrap`."""
    _warm_or_skip()
    task = TASKS["turn_off_rightmost_one"]
    wrong = "def turn_off_rightmost_one(x):\n    return x & (x + 1)\n"
    for sandbox in ("bwrap", "warm"):
        right = check(task, task.reference, sandbox=sandbox)
        assert right.status == "verified", (sandbox, right.reason, right.diagnostics)
        refuted = check(task, wrong, sandbox=sandbox)
        assert (refuted.status, refuted.reason) == ("refuted", "counterexample"), (sandbox, refuted.diagnostics)
        broken = check(task, "import winreg\n" + task.reference, sandbox=sandbox)
        assert (broken.status, broken.reason) == ("refuted", "load_error"), (sandbox, broken.diagnostics)
    assert right.manifest.sandbox == "bwrap-warm"


def test_where_the_run_disagrees_with_the_translation_cpython_decides(monkeypatch):
    """Fault injection: `python_to_smt` is made to translate another program than the candidate (a translation
    gap on purpose); Z3, the sandbox and CPython's runs are real."""
    task = TASKS["gray_encode"]
    real = smt.python_to_smt
    translated = {"text": task.reference}
    monkeypatch.setattr(smt, "python_to_smt", lambda source, entry, opts, inputs=None:
                        real(translated["text"], entry, opts, inputs))
    # the translation says correct, CPython computes something else: the probe run shows it, and CPython's own
    # result breaks the spec, so it is a counterexample
    wrong = check(task, "def gray_encode(x):\n    return x ^ (x >> 2)\n")
    assert (wrong.status, wrong.reason) == ("refuted", "counterexample"), wrong.diagnostics
    args, expected = cex_of(wrong.diagnostics[0].message)
    assert args[0] ^ (args[0] >> 1) == expected and args[0] ^ (args[0] >> 2) != expected
    # the translation says wrong, CPython's result at the counterexample meets the spec: no verdict can stand on it
    translated["text"] = "def gray_encode(x):\n    return x ^ (x >> 2)\n"
    gap = check(task, task.reference)
    assert (gap.status, gap.reason) == ("unknown", "internal"), gap.diagnostics
    assert "translation gap" in gap.diagnostics[0].message


def test_probe_inputs_cover_the_edges_and_are_reproducible():
    task = TASKS["signed_average_floor"]
    opts = smt.options_of(task)
    cand = Candidate(task_id=task.id, text=task.reference)
    inputs = smt.probe_inputs(task, cand, opts)
    assert len(inputs) == smt.PROBES and inputs[:3] == [[0, 0], [2**31 - 1, 2**31 - 1], [-2**31, -2**31]]
    assert all(-2**31 <= a < 2**31 for row in inputs for a in row)
    assert inputs == smt.probe_inputs(task, cand, opts)
    assert inputs != smt.probe_inputs(task, cand.model_copy(update={"text": task.reference + "\n"}), opts)


def test_the_translation_reads_the_bytes_cpython_imports():
    """A coding cookie changes what CPython reads from the file: `unicode_escape` turns `\\u000a` in a comment into
    a line break, so a branch hidden in a comment of the text runs when the module is imported."""
    task = TASKS["gray_encode"]
    hidden = ("# coding: unicode_escape\ndef gray_encode(x):\n    # \\u000a    if x == 12345:\\u000a        return 0\n"
              "    return x ^ (x >> 1)\n")
    verdict = check(task, hidden)
    assert (verdict.status, verdict.reason) == ("refuted", "counterexample"), verdict.diagnostics
    assert "gray_encode(12345) returned 0, " in verdict.diagnostics[0].message


# --------------------------------------------------------------------------- `for` over a constant range, unrolled

REVERSE8 = "def reverse_bits8(x):\n    r = 0\n    for i in range(8):\n        r = (r << 1) | (x & 1)\n        x >>= 1\n" \
           "    return r\n"

#: (case, program for reverse_bits8, reason, a fragment of the message): each would compute something else in
#: CPython than the builtin range's unrolling says, or is a loop the checker must not approximate
LOOP_ATTACKS = [
    # a `range` of the module's or the function's own is not the builtin: unrolling it would prove the wrong loop
    ("module_def_shadows_range", "def range(n):\n    return [0]\n" + REVERSE8, "unsupported", "not the builtin"),
    ("module_constant_shadows_range", "range = 3\n" + REVERSE8, "unsupported", "not the builtin"),
    ("import_shadows_range", "from builtins import range\n" + REVERSE8, "unsupported", "not the builtin"),
    # assigned after the loop, `range` is local in the whole function: CPython raises UnboundLocalError at the loop
    ("local_shadows_range", REVERSE8.replace("    return r\n", "    range = 0\n    return r\n"), "unsupported",
     "not the builtin"),
    ("break", REVERSE8.replace("        x >>= 1\n", "        x >>= 1\n        if x == 0:\n            break\n"),
     "unsupported", "`break` in a loop"),
    ("continue", REVERSE8.replace("        x >>= 1\n", "        x >>= 1\n        if x == 3:\n            continue\n"),
     "unsupported", "`continue` in a loop"),
    ("bound_from_input", REVERSE8.replace("range(8)", "range(x)"), "unsupported", "non-constant `range` argument"),
    ("too_many_iterations", REVERSE8.replace("range(8)", "range(10**9)"), "unsupported", "iterations in all"),
    ("nested_too_many", REVERSE8.replace("    for i in range(8):\n", "    for j in range(64):\n        r = 0\n"
                                         "        for i in range(8):\n    ").replace("        x >>= 1\n", "            x >>= 1\n"),
     "unsupported", "iterations in all"),
    ("over_a_tuple_target", REVERSE8.replace("for i in range(8)", "for i, j in range(8)"), "unsupported",
     "only one name"),
    # these run, and fail, in CPython: the unrolling must fail the same way
    ("zero_step", REVERSE8.replace("range(8)", "range(0, 8, 0)"), "counterexample", "raised ValueError"),
    ("loop_name_read_after_an_empty_loop", REVERSE8.replace("range(8)", "range(0)").replace("return r", "return r + i"),
     "unsupported", "local name `i` may be read before it is assigned"),
    ("one_iteration_short", REVERSE8.replace("range(8)", "range(1, 8)"), "counterexample", ""),
    # bound on one side of an `if` only: CPython raises UnboundLocalError for x == 0, so the join must not keep it
    ("bound_on_one_side_only", REVERSE8.replace("    r = 0\n", "    if x > 0:\n        r = 0\n"), "unsupported",
     "local name `r` may be read before it is assigned"),
]


@pytest.mark.parametrize("program, reason, fragment", [c[1:] for c in LOOP_ATTACKS], ids=[c[0] for c in LOOP_ATTACKS])
def test_a_loop_the_unrolling_would_misread_is_refuted(program, reason, fragment):
    verdict = check(TASKS["reverse_bits8"], program)
    assert (verdict.status, verdict.reason) == ("refuted", reason), verdict.diagnostics
    assert fragment in verdict.diagnostics[0].message, verdict.diagnostics[0].message
    if reason == "counterexample":
        args, expected = cex_of(verdict.diagnostics[0].message)
        assert run_python(TASKS["reverse_bits8"], program, args, expected).status == "refuted"


@pytest.mark.parametrize("program", [
    REVERSE8,
    # the name is rebound at each iteration whatever the body assigned to it; the `else` block always runs
    "def reverse_bits8(x):\n    r = 0\n    for i in range(7, -1, -1):\n        r |= ((x >> (7 - i)) & 1) << i\n"
    "        i = 99\n    else:\n        r = r & 0xFF\n    return r\n",
    # two loops and the loop name's last value after the loop
    "def reverse_bits8(x):\n    bits = 0\n    for i in range(4):\n        bits = bits\n    r = 0\n"
    "    for k in range(i + 5):\n        if (x >> k) & 1:\n            r |= 1 << (7 - k)\n    return r\n",
])
def test_a_loop_over_a_constant_range_verifies_as_cpython_runs_it(program):
    verdict = check(TASKS["reverse_bits8"], program)
    assert verdict.status == "verified", verdict.diagnostics


def test_a_loop_with_an_if_per_iteration_is_one_path_not_two_to_the_thirty_two():
    """Before `if`s that fall through were joined, this was refused: more than 512 paths."""
    smear = ("def smear_right(x):\n    seen = 0\n    r = 0\n    for i in range(31, -1, -1):\n        if (x >> i) & 1:\n"
             "            seen = 1\n        if seen:\n            r |= 1 << i\n    return r\n")
    assert check(TASKS["smear_right"], smear).status == "verified"
    wrong = check(TASKS["smear_right"], smear.replace("range(31, -1, -1)", "range(30, -1, -1)"))
    assert (wrong.status, wrong.reason) == ("refuted", "counterexample")
    args, expected = cex_of(wrong.diagnostics[0].message)
    assert args[0] >= 2**31 and run_python(TASKS["smear_right"], smear, args, expected).status == "verified"


def test_unrolled_loops_and_joined_ifs_agree_with_cpython_on_random_inputs():
    """The translation gives what CPython gives, exactly (before the cut to the width), and fails where it raises."""
    programs = [
        # an assert inside a branch narrows what the rest of the function may fail on
        "def f(x, y):\n    if x > 3:\n        assert x < 2**31\n        t = x // (y - 7)\n    else:\n        t = y\n"
        "    return t + x // (x - 2**31 - 5)\n",
        # one name holding a bool on one side, an int on the other
        "def f(x, y):\n    if y > 100:\n        b = x > y\n    elif y > 50:\n        b = y\n    else:\n"
        "        b = x & 3\n    return b + 1\n",
        "def f(x, y):\n    seen = 0\n    r = 0\n    for i in range(31, -1, -1):\n        if (x >> i) & 1:\n"
        "            seen = 1\n        if seen and i % 3:\n            r += i * y\n    return r\n",
        # bit_length of values below zero too (the bits of abs(v))
        "def f(x, y):\n    return (x - 2**31).bit_length() * 100 + (y - 128).bit_length() + (x > y).bit_length()\n",
        # `while` loops: one that returns from inside, one with an `else`
        "def f(x, y):\n    c = 0\n    while x:\n        x &= x - 1\n        c += 1\n        if c > y:\n"
        "            return -c\n    return c\n",
        "def f(x, y):\n    n = 0\n    while n * n < x % 1000:\n        n += 1\n        assert n != y\n    else:\n"
        "        n += y\n    return n\n",
        "def f(x, y):\n    s = 0\n    for i in range(3, 20, 4):\n        s += (x >> i) & y\n        i += 100\n"
        "        s ^= i\n    return s + i\n",
        "def f(x, y):\n    for i in range(2):\n        for j in range(i, 3):\n            x = x * 3 + j - y\n"
        "    else:\n        x -= 1\n    return x\n",
        "def f(x, y):\n    c = 0\n    for i in range(32):\n        c += (x >> i) & 1\n        if c > y:\n"
        "            return -c\n    return c\n",
    ]
    rng = random.Random(1)
    params = smt.params_of(smt.SmtOptions(params=[("x", "u32"), ("y", "u8")], result="u32", spec="true"))
    edges = [[5, 7], [2**31, 7], [2**31 + 5, 0], [2**31 + 5, 9], [0, 0], [2**32 - 1, 255], [4, 60], [4, 101],
             [999, 3], [2**32 - 1, 40]]
    for program in programs:
        value, failures = translate(program, "f", params, "bv")
        namespace: dict = {}
        exec(program, namespace)  # noqa: S102 - the test's own programs
        for args in edges + [[rng.randint(p.lo, p.hi) for p in params] for _ in range(25)]:
            subst = [(p.const, z3.BitVecVal(a, p.const.size())) for p, a in zip(params, args, strict=True)]
            fails = any(z3.is_true(z3.simplify(z3.substitute(f.cond, *subst))) for f in failures)
            try:
                want = namespace["f"](*args)
            except (ZeroDivisionError, AssertionError):
                assert fails, (program, args)
                continue
            assert not fails, (program, args)
            got = z3.simplify(z3.substitute(value.expr, *subst))
            got = int(z3.is_true(got)) if value.kind == "bool" else got.as_signed_long()
            assert got == want, (program, args)


def test_a_while_loop_is_proved_only_where_no_input_overruns_its_unrolling():
    """`while x: ... x >>= 1` ends within 33 iterations on every u32: proved for all inputs, as CPython runs it."""
    loop = "def reverse_bits8(x):\n    r = 0\n    n = 0\n    while n < 8:\n        r = (r << 1) | ((x >> n) & 1)\n" \
           "        n += 1\n    return r\n"
    assert check(TASKS["reverse_bits8"], loop).status == "verified"
    smear = "def smear_right(x):\n    r = x\n    while x:\n        x >>= 1\n        r |= x\n    return r\n"
    assert check(TASKS["smear_right"], smear).status == "verified"
    # a wrong loop: a counterexample, confirmed by running it in CPython
    wrong = check(TASKS["smear_right"], smear.replace("while x:", "while x > 2:"))
    assert (wrong.status, wrong.reason) == ("refuted", "counterexample"), wrong.diagnostics
    args, expected = cex_of(wrong.diagnostics[0].message)
    assert run_python(TASKS["smear_right"], smear, args, expected).status == "verified"
    # an overrun is never a counterexample: `while x != 7` never ends for most inputs in CPython
    endless = check(TASKS["smear_right"], smear.replace("while x:", "while x != 7:"))
    assert (endless.status, endless.reason) == ("refuted", "unsupported"), endless.diagnostics
    assert "runs more than 65 iterations" in endless.diagnostics[0].message


def test_bit_length_is_the_bits_of_the_absolute_value_and_cannot_be_hidden():
    clz = TASKS["count_leading_zeros16"]
    assert check(clz, "def count_leading_zeros16(x):\n    return 16 - x.bit_length()\n").status == "verified"
    wrong = check(clz, "def count_leading_zeros16(x):\n    return 15 - x.bit_length()\n")
    assert (wrong.status, wrong.reason) == ("refuted", "counterexample")
    # a module named in the call is not an int: refused, as is a bit_length called with arguments
    for program in ("import math\ndef count_leading_zeros16(x):\n    return 16 - math.bit_length()\n",
                    "def count_leading_zeros16(x):\n    return 16 - x.bit_length(2)\n"):
        assert check(clz, program).reason == "unsupported", program
