"""The Coq soundness audit on a candidate's text, before Coq ever sees it.

A candidate is a tactic script and nothing else (DESIGN.md, soundness rules):

- every sentence starts with a tactic (a lower-case name), a bullet, a brace
  or a goal selector. Vernacular commands all start with a capital letter
  (`Require`, `Axiom`, `Qed`, `Admitted`, `Unset Guard Checking`, `Ltac`,
  `Notation`, `Time`, `Fail`, ...), and so do attributes `#[...]`; they are
  rejected, so a candidate cannot load the original lemma, declare an axiom,
  close the proof early and restate the theorem, or hide `Admitted` behind
  a notation or an Ltac definition.
- `admit` and `give_up` are rejected wherever they appear.
- the text must split cleanly: an open comment or string could swallow the
  `Qed.` the checker appends.

A leading `Proof.` (or `Proof using ...`/`Proof with ...`) and a trailing
`Qed.` are tolerated, since models write them; the checker writes its own
(a task's own `Proof using` is never replaced). What the audit cannot see,
coq.py's own commands after the proof catch: the exported theorem must have
the task's type (a section hypothesis the statement does not need would
weaken it), and `Print Assumptions` must show nothing the reference does not
use.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from proofsmith.provers.coq_text import blank, split_sentences, strip_comments

__all__ = ["AuditResult", "audit_script"]

_FORBIDDEN_TACTICS = re.compile(r"(?<![\w'.])(admit|give_up)(?![\w'])")
_PROOF_OPENER = re.compile(r"Proof(\s+(using|with)\b[^.]*)?\.\Z", re.DOTALL)
_QED = re.compile(r"Qed\s*\.\Z")
_SELECTOR = re.compile(r"(all|par|\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*|\[[A-Za-z_][\w']*\]|!)\s*:\s*")


class AuditResult(NamedTuple):
    """The audit's decision on one script."""

    ok: bool
    #: the script with a tolerated leading `Proof...` / trailing `Qed.` blanked out (positions kept)
    body: str
    #: the `Proof ...` command the candidate gave, or None
    proof_command: str | None
    message: str | None = None
    line: int | None = None
    column: int | None = None


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return line, column


def audit_script(text: str) -> AuditResult:
    """Check that `text` is a tactic script only; see the module docstring for the rules."""
    split = split_sentences(text)
    if split.problem is not None:
        line, col = _position(text, split.unfinished_at or 0)
        what = {"comment": "a comment that is never closed", "string": "a string that is never closed",
                "sentence": "text after the last sentence that does not end with '.'"}[split.problem]
        return AuditResult(False, text, None, f"the proof script has {what}", line, col)
    sentences = list(split.sentences)
    body = text
    proof_command = None
    if sentences and _PROOF_OPENER.match(strip_comments(sentences[0].text).strip()):
        proof_command = " ".join(strip_comments(sentences[0].text).split())
        body = blank(body, sentences[0].start, sentences[0].end)
        sentences = sentences[1:]
    if sentences and _QED.match(strip_comments(sentences[-1].text).strip()):
        body = blank(body, sentences[-1].start, sentences[-1].end)
        sentences = sentences[:-1]
    for sentence in sentences:
        code = strip_comments(sentence.text).strip()
        line, col = _position(text, sentence.start)
        bad = _FORBIDDEN_TACTICS.search(_without_strings(code))
        if bad:
            return AuditResult(False, body, proof_command,
                               f"'{bad.group(1)}' leaves the goal unproved: the proof must be complete", line, col)
        head = _SELECTOR.sub("", code, count=1) if _SELECTOR.match(code) else code
        if head in ("{", "}") or re.fullmatch(r"-+|\++|\*+", head):
            continue
        first = head[:1]
        if first.isupper() or first == "#":
            word = re.match(r"#\[?|[\w']+", head)
            name = word.group(0) if word else head[:12]
            return AuditResult(False, body, proof_command,
                               f"'{name}' is a vernacular command: a proof may contain tactics only", line, col)
        if not (first.islower() or first in "([_"):
            return AuditResult(False, body, proof_command,
                               f"'{head[:20]}' does not start with a tactic", line, col)
    return AuditResult(True, body, proof_command)


def _without_strings(code: str) -> str:
    """`code` with string literals emptied, so `idtac "admit"` is not read as `admit`."""
    return re.sub(r'"(?:[^"]|"")*"', '""', code)
