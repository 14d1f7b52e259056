"""Coq tasks shared by the Coq checker and session tests (real Coq, no stand-ins)."""

import os

import pytest

from proofsmith.provers import coq
from proofsmith.schema import Limits, Task

ADD_0_R = Task(
    id="add_0_r", language="coq", kind="proof",
    context="Require Import Arith.\n",
    statement="Theorem add_0_r : forall n : nat, n + 0 = n.",
    reference="intros n. induction n. reflexivity. simpl. rewrite IHn. reflexivity.",
    limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048),
    options={"name": "add_0_r"},
)
#: the prefix loads classical logic, but the reference proof does not need it
CLASSICAL = Task(
    id="classical", language="coq", kind="proof",
    context="Require Import Classical.\n",
    statement="Theorem p_imp_p : forall P : Prop, P -> P.",
    reference="intros P H. exact H.",
    limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048),
    options={"name": "p_imp_p"},
)


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Reference and prefix caches in a fresh directory, so no earlier run decides anything here."""
    old = os.environ.get("PROOFSMITH_CACHE_DIR")
    os.environ["PROOFSMITH_CACHE_DIR"] = str(tmp_path_factory.mktemp("coq-cache"))
    coq._STORE._memory.clear()
    yield
    if old is None:
        os.environ.pop("PROOFSMITH_CACHE_DIR", None)
    else:
        os.environ["PROOFSMITH_CACHE_DIR"] = old
