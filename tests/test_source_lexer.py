"""The one comment/string lexer of the Coq, Lean and F* audits: each language's rules, the exploits a wrong
lexer lets through, and Coq's rules fuzzed against the real coqc.

Lean and F* are not installable here: their cases are the languages' documented
lexical rules, run through the audits' own pre-checks (no prover involved).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from proofsmith.provers import fstar_audit, lean_audit
from proofsmith.provers.coq_text import split_sentences, strip_comments
from proofsmith.provers.source_lexer import COQ, FSTAR, LEAN, blanked, lex


def kinds(text: str, rules) -> list[tuple[str, str]]:
    lexed = lex(text, rules)
    return [(s.kind, text[s.start:s.end]) for s in lexed.spans if s.kind != "code" or text[s.start:s.end].strip()]


# --------------------------------------------------------------------------- Coq


def test_coq_comments_nest_and_hold_strings_and_strings_double_their_quotes():
    assert kinds('(* "*)" *) x', COQ) == [("comment", '(* "*)" *)'), ("code", " x")]
    assert kinds('(* (* *) *) "a""b" y', COQ) == [("comment", "(* (* *) *)"), ("string", '"a""b"'), ("code", " y")]
    assert lex('(* " *)', COQ).problem == "comment"  # the string in the comment never closes, nor does the comment
    assert lex("(*)", COQ).problem == "comment"  # in Coq `(*)` opens a comment
    assert lex('"a', COQ).problem == "string"


def test_coq_sentences_and_comment_stripping_keep_their_behaviour():
    text = 'Proof. (* (* x. *) y. *) idtac "a. ""b"". ". auto... Qed.'
    assert [s.text for s in split_sentences(text).sentences] == ["Proof.", 'idtac "a. ""b"". ".', "auto...", "Qed."]
    assert strip_comments('a (* b "*)" *) "(* c" d') == 'a   "(* c" d'
    assert split_sentences("intros. (* open").problem == "comment"
    assert split_sentences('idtac "open').problem == "string"


# --------------------------------------------------------------------------- Lean


def test_lean_character_literals_do_not_open_strings():
    assert kinds("""'"' x""", LEAN) == [("char", """'"'"""), ("code", " x")]
    assert kinds("""'\\"' x""", LEAN) == [("char", """'\\"'"""), ("code", " x")]
    assert kinds("'\\'' x '\\x41' '\\u0041'", LEAN)[0] == ("char", "'\\''")
    assert [k for k, _ in kinds("'\\x41' '\\u0041'", LEAN)] == ["char", "char"]
    # a prime inside a name is a letter of the name
    assert kinds("""h' "s" h'""", LEAN) == [("code", "h' "), ("string", '"s"'), ("code", " h'")]


def test_lean_raw_and_interpolated_strings():
    assert kinds('r"\\" x', LEAN) == [("string", 'r"\\"'), ("code", " x")]  # no escapes in a raw string
    assert kinds('r#"a"b"# x', LEAN) == [("string", 'r#"a"b"#'), ("code", " x")]
    # the {...} of an interpolated string is code: left unblanked, so the audit sees it
    assert "sorry" in lean_audit.strip_comments('s!"{sorry}"')
    assert lex('s!"{"}"}" x', LEAN).problem is None


@pytest.mark.parametrize("proof", [
    # the old lexer read `'\"'` as a backslash and then a string, which hid the sorry up to the last quote
    """by exact ('\\"', 0).2 <;> sorry -- "\n""",
    # a raw string ends at its first quote; the old lexer read `\\"` as an escape and hid the sorry
    """by have := r"\\" <;> sorry -- "\n""",
])
def test_lean_precheck_sees_code_a_wrong_lexer_would_hide(proof):
    problem = lean_audit.precheck(proof)
    assert problem is not None and "sorry" in problem.message, problem


def test_lean_a_character_quote_is_not_an_unclosed_string():
    assert lean_audit.precheck("by\n  exact ('\"', 1).2") is None


# --------------------------------------------------------------------------- F*


def test_fstar_parenthesised_star_is_code_and_characters_do_not_open_strings():
    assert kinds("(*) 2 3", FSTAR) == [("code", "(*) 2 3")]
    assert kinds("(**) x", FSTAR) == [("comment", "(**)"), ("code", " x")]
    assert kinds("""'"' x""", FSTAR) == [("char", """'"'"""), ("code", " x")]
    assert kinds("(x:'a) y", FSTAR) == [("code", "(x:'a) y")]  # a type variable, not a character
    assert kinds('// a "\nx', FSTAR) == [("comment", '// a "'), ("code", "\nx")]


def test_fstar_precheck_sees_an_admit_after_a_quote_character():
    diag = fstar_audit.precheck("""let f (x:nat) : nat = let c = '"' in admit () // "\n""", "f")
    assert diag is not None and "admit" in diag.message


def test_fstar_unclosed_comment_or_string_is_rejected():
    assert "never closed" in fstar_audit.precheck("let f x = () (*", "f").message
    assert "never closed" in fstar_audit.precheck('let f x = "', "f").message


def test_blanking_keeps_positions_newlines_and_quotes():
    text = 'a "x\ny" (* c\n *) \'z\' b'
    out = blanked(text, lex(text, FSTAR))
    assert len(out) == len(text) and out.count("\n") == 2
    assert out.replace(" ", "").replace("\n", "") == "a\"\"''b"


# --------------------------------------------------------------------------- Coq, fuzzed against coqc


needs_coqc = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (apt-get install coq)")
_PIECES = st.sampled_from(["(*", "*)", '"', '""', "(", ")", "*", " ", "\n", "a", ".", "(*)", "*)*", "x.y"])
_FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _coqc_accepts(source: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Lex.v"
        path.write_text(source)
        done = subprocess.run(["coqc", "-q", "-w", "-all", "Lex.v"], cwd=tmp, capture_output=True, text=True,
                              timeout=120)
    return done.returncode == 0


def _lexer_accepts(source: str, expected_code: str, strings: int) -> bool:
    """What our lexer predicts: everything closes, the code outside comments and strings is exactly
    `expected_code` (whitespace aside), with exactly `strings` strings in it."""
    lexed = lex(source, COQ)
    if lexed.problem:
        return False
    code = "".join(source[s.start:s.end] if s.kind == "code" else " " for s in lexed.spans if s.kind != "comment")
    found = sum(s.kind == "string" for s in lexed.spans)
    return "".join(code.split()) == "".join(expected_code.split()) and found == strings


@needs_coqc
@_FUZZ
@given(st.lists(_PIECES, max_size=12).map("".join))
@example('"*)"')
@example('(* *) *)')
@example("*) (*")
@example('"" *)')
def test_coq_comments_end_where_coqc_ends_them(inner):
    # our `*)` closes the comment exactly when the inside is balanced as Coq lexes it; anything else leaves
    # code (or an open comment) that coqc rejects
    source = f"(* {inner} *)\nDefinition ps_after := 0.\n"
    assert _lexer_accepts(source, "Definition ps_after := 0.", 0) == _coqc_accepts(source), source


@needs_coqc
@_FUZZ
@given(st.lists(_PIECES, max_size=12).map("".join))
@example('""')
@example('" "')
@example('(* "')
def test_coq_strings_end_where_coqc_ends_them(inner):
    source = f'Require Import Coq.Strings.String.\nDefinition ps_s := "{inner}"%string.\n'
    assert (_lexer_accepts(source, "Require Import Coq.Strings.String. Definition ps_s := %string.", 1)
            == _coqc_accepts(source)), source
