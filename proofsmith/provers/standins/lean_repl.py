#!/usr/bin/env python3
"""STAND-IN for the Lean 4 REPL (leanprover-community/repl). This is NOT Lean.

A test double for proofsmith's Lean checker, used only where no Lean
toolchain exists (every build machine of this project). It speaks the REPL's
wire protocol and nothing else is real: it does not parse Lean, elaborate
terms or run a kernel.

Where the format comes from (read, not copied):

- framing and request/response shapes: the REPL's README and `REPL/JSON.lean`
  (leanprover-community/repl): requests are JSON objects separated by blank
  lines; `{"cmd", "env"?}` -> `{"env", "messages"?, "sorries"?}` (empty lists
  are left out, as the REPL's `ToJson` does); `{"tactic", "proofState"}` ->
  `{"proofState", "goals", "messages"?, "sorries"?, "proofStatus"?}`;
  `{"pickleTo", "env"}` / `{"unpickleEnvFrom"}`; protocol errors are
  `{"message": "..."}` (e.g. "Unknown environment."); responses are
  pretty-printed JSON followed by a blank line.
- message shapes: `{"severity", "pos": {"line","column"}, "endPos", "data"}`
  with Lean's own texts ("declaration uses 'sorry'", "unsolved goals",
  "unknown constant", "'x' depends on axioms: [propext, sorryAx]",
  "'x' does not depend on any axioms", "(kernel) declaration type mismatch").
- exploit behaviour: notes/anchors.md section 2 (kimina-lean-server#75 `by
  admit`, PrimeIntellect verifiers#2177 injected axiom, terminal-bench-science
  #325 `#print axioms` hijacked by a macro, lean4 PR #12217 native_decide,
  repl#44 tactic-mode false positives).

Rules it follows (deliberately simple and documented so tests can rely on
them):

- `import M` lines start a fresh environment (only without `env`); each
  header costs `--header-delay` seconds. Modules must be under Init, Lean,
  Std, Batteries, Aesop or Mathlib, else "unknown module prefix".
- A proof containing the word `wrong` or `fail` is an error ("unsolved
  goals"); the declaration is still added, with `sorryAx` (as Lean does).
- `sorry`/`admit` (or a tactic macro that expands to them) in a proof: the
  warning "declaration uses 'sorry'" (not for macro aliases: the worst case)
  and `sorryAx` among the declaration's axioms; tactic-mode sorries are
  listed in `sorries` with a `proofState`.
- axioms a proof "uses": `propext` for simp-like tactics, `Classical.choice`
  for classical reasoning, `Lean.ofReduceBool` for `native_decide`, and the
  axioms of every declaration (or `axiom`) whose name it mentions.
- `set_option debug.skipKernelTC true` then lets a proof marked
  `standin: kernel-reject` through; without it that proof fails with the
  kernel's "(kernel) declaration type mismatch". A kernel re-check
  (`Lean.addDecl` of the theorem under a new name, proofsmith's audit) fails
  for such a declaration whatever the options.
- a `macro`/`syntax`/`elab`/`notation`/`macro_rules` whose text mentions
  `#print` hijacks `#print axioms` in that environment and every later one:
  it then claims "does not depend on any axioms" for everything.
- directives anywhere in a request's text, `standin: X`: `hang` (never
  answers), `crash` (exits 137 mid-request), `partial-crash` (prints half a
  response, then exits), `garbage` (prints non-JSON), `leak=N` (keeps N MB
  more resident), `slow=S` (sleeps S seconds).
- `--die-after N`: the process exits without answering its (N+1)th request
  (the REPL dying after many commands, repl#77).
- `namespace X` / `end X` scope declaration names as Lean does (`_root_.x`
  escapes), and `#print axioms` prints the full name.
- `#eval Lean.versionString` answers `--lean-version`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time

MODULE_ROOTS = ("Init", "Lean", "Std", "Batteries", "Aesop", "Mathlib")
COMMAND_HEAD = re.compile(
    r"^(?:@\[[^\]]*\]\s*)?(?:private\s+|protected\s+|noncomputable\s+|unsafe\s+|partial\s+)*"
    r"(theorem|lemma|example|def|abbrev|instance|axiom|opaque|macro_rules|macro|syntax|elab_rules|elab|notation|"
    r"infixl|infixr|infix|prefix|postfix|set_option|open|namespace|section|end|variable|universe|attribute|"
    r"#print|#eval|#check|run_cmd|import)\b",
    re.MULTILINE,
)
SIMP_LIKE = re.compile(r"\b(simp|simp_all|norm_num|omega|linarith|nlinarith|ring|field_simp|aesop|decide|positivity)\b")
CLASSICAL = re.compile(r"\b(by_contra|by_cases|Classical|tauto|push_neg|choose)\b")
CLOSING = re.compile(r"^\s*(rfl|simp|simp_all|norm_num|omega|decide|native_decide|trivial|exact|linarith|nlinarith|"
                     r"ring|assumption|aesop|tauto|positivity|contradiction|exact\?|apply\?)\b")

LEAKED: list[bytearray] = []


class Decl:
    def __init__(self, kind: str, axioms: set[str], kernel_bad: bool = False, type_: str = "") -> None:
        self.kind = kind
        self.axioms = axioms
        self.kernel_bad = kernel_bad
        self.type = type_


class Env:
    def __init__(self, decls=None, hijack=False, aliases=None, skip_kernel=False, ns="") -> None:
        self.decls: dict[str, Decl] = dict(decls or {})
        self.hijack = hijack
        self.aliases: set[str] = set(aliases or ())
        self.skip_kernel = skip_kernel
        self.ns = ns  # the open namespace (REPL environments keep the command scope)

    def copy(self) -> Env:
        return Env(self.decls, self.hijack, self.aliases, self.skip_kernel, self.ns)

    def full(self, name: str) -> str:
        """The name a declaration gets here: `_root_.x` is `x`, else inside the open namespace."""
        if name.startswith("_root_."):
            return name[len("_root_."):]
        return f"{self.ns}.{name}" if self.ns else name

    def resolve(self, name: str) -> str | None:
        """The declaration a name refers to here, or None."""
        if name.startswith("_root_."):
            name = name[len("_root_."):]
            return name if name in self.decls else None
        if self.ns and f"{self.ns}.{name}" in self.decls:
            return f"{self.ns}.{name}"
        return name if name in self.decls else None


class ProofState:
    def __init__(self, goals: list[str], env: Env, sorry: bool = False) -> None:
        self.goals = goals
        self.env = env
        self.sorry = sorry


class Repl:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.envs: list[Env] = []
        self.states: list[ProofState] = []
        self.requests = 0

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def msg(severity: str, line: int, col: int, data: str, end: tuple[int, int] | None = None) -> dict:
        out = {"severity": severity, "pos": {"line": line, "column": col}, "data": data}
        out["endPos"] = {"line": end[0], "column": end[1]} if end else None
        return out

    def directives(self, text: str) -> None:
        for name, value in re.findall(r"standin:\s*([a-z-]+)(?:=([\d.]+))?", text):
            if name == "hang":
                while True:
                    time.sleep(3600)
            elif name == "crash":
                os._exit(137)
            elif name == "partial-crash":
                sys.stdout.write('{"env": 1,\n "messages":\n  [{"severity": "er')
                sys.stdout.flush()
                os._exit(1)
            elif name == "garbage":
                sys.stdout.write("uncaught exception: this is not JSON\n\n")
                sys.stdout.flush()
            elif name == "leak":
                for _ in range(int(float(value or 100)) // 8):  # grows 8 MB at a time, as a leak does
                    block = bytearray(8 << 20)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    LEAKED.append(block)
                    time.sleep(0.005)
            elif name == "slow":
                time.sleep(float(value or 1))

    def axioms_of(self, proof: str, env: Env) -> set[str]:
        found: set[str] = set()
        words = set()
        for word in re.findall(r"[A-Za-z_][\w.']*", proof):  # `cheat.elim` mentions `cheat`
            parts = word.split(".")
            words.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        if SIMP_LIKE.search(proof):
            found.add("propext")
        if CLASSICAL.search(proof):
            found |= {"propext", "Classical.choice", "Quot.sound"}
        if re.search(r"\bnative_decide\b", proof):
            found.add("Lean.ofReduceBool")
        if re.search(r"\b(sorry|admit)\b", proof) or words & env.aliases:
            found.add("sorryAx")
        for word in words:
            target = env.resolve(word)
            if target is not None:
                found |= env.decls[target].axioms
        return found

    # ------------------------------------------------------------------ commands

    def command(self, req: dict) -> dict:
        text = req.get("cmd", "")
        if "env" in req and req["env"] is not None:
            if not isinstance(req["env"], int) or not 0 <= req["env"] < len(self.envs):
                return {"message": "Unknown environment."}
            env = self.envs[req["env"]].copy()
        else:
            env = Env()
        messages: list[dict] = []
        sorries: list[dict] = []
        chunks = self.split(text)
        for line, chunk in chunks:
            head = COMMAND_HEAD.match(chunk)
            kind = head.group(1) if head else ""
            if kind == "import":
                after_other = any(k != "import" for k, _ in self.kinds_before(chunks, line))
                if req.get("env") is not None or after_other:
                    messages.append(self.msg("error", line, 0, "invalid 'import' command, it must be used in the "
                                             "beginning of the file"))
                    continue
                for module in re.findall(r"import\s+([\w.]+)", chunk):
                    if module.split(".")[0] not in MODULE_ROOTS:
                        messages.append(self.msg("error", line, 0, f"unknown module prefix '{module.split('.')[0]}'"
                                                 f"\n\nNo directory '{module.split('.')[0]}' or file "
                                                 f"'{module.split('.')[0]}.olean' in the search path entries"))
                continue
            self.one(kind, chunk, line, env, messages, sorries)
        if chunks and chunks[0][1].startswith("import"):
            time.sleep(self.args.header_delay)
        self.envs.append(env)
        out: dict = {"env": len(self.envs) - 1}
        if messages:
            out["messages"] = messages
        if sorries:
            out["sorries"] = sorries
        return out

    @staticmethod
    def kinds_before(chunks, line):
        out = []
        for ln, chunk in chunks:
            if ln >= line:
                break
            head = COMMAND_HEAD.match(chunk)
            out.append((head.group(1) if head else "", ln))
        return out

    @staticmethod
    def split(text: str) -> list[tuple[int, str]]:
        starts = [m.start() for m in COMMAND_HEAD.finditer(text)]
        if not starts or starts[0] != 0:
            starts = [0, *starts]
        chunks = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(text)
            chunk = text[start:end]
            if chunk.strip():
                chunks.append((text.count("\n", 0, start) + 1, chunk.strip()))
        return chunks

    def one(self, kind: str, chunk: str, line: int, env: Env, messages: list, sorries: list) -> None:
        if kind in ("macro", "macro_rules", "syntax", "elab", "elab_rules", "notation", "infix", "infixl", "infixr",
                    "prefix", "postfix"):
            if "#print" in chunk:
                env.hijack = True
            if re.search(r"\b(sorry|admit)\b", chunk):
                env.aliases.update(re.findall(r'"([A-Za-z_][\w!?]*)"', chunk))
            return
        if kind == "set_option":
            if re.match(r"set_option\s+debug\.skipKernelTC\s+true\s*$", chunk):
                env.skip_kernel = True
                return
            inner = re.match(r"set_option\s+\S+\s+\S+\s+in\s+", chunk)
            if inner:
                rest = chunk[inner.end():]
                sub = COMMAND_HEAD.match(rest)
                skip = "debug.skipKernelTC true" in chunk[:inner.end()]
                saved = env.skip_kernel
                env.skip_kernel = saved or skip
                self.one(sub.group(1) if sub else "", rest, line, env, messages, sorries)
                env.skip_kernel = saved
            return
        if kind == "namespace":
            env.ns = f"{env.ns}.{chunk.split()[1]}" if env.ns else chunk.split()[1]
            return
        if kind == "end":
            env.ns = env.ns.rpartition(".")[0]
            return
        if kind == "axiom":
            m = re.match(r"axiom\s+([\w.']+)", chunk)
            if m:
                full = env.full(m.group(1))
                env.decls[full] = Decl("axiom", {full})
            return
        if kind == "#print":
            m = re.match(r"#print\s+axioms\s+([\w.']+)", chunk)
            if not m:
                messages.append(self.msg("info", line, 0, chunk))
                return
            name = env.resolve(m.group(1))
            if env.hijack:
                messages.append(self.msg("info", line, 0, f"'{m.group(1)}' does not depend on any axioms"))
            elif name is None:
                messages.append(self.msg("error", line, 15, f"unknown constant '{m.group(1)}'"))
            else:
                ax = sorted(env.decls[name].axioms)
                data = f"'{name}' depends on axioms: [{', '.join(ax)}]" if ax else \
                    f"'{name}' does not depend on any axioms"
                messages.append(self.msg("info", line, 0, data))
            return
        if kind in ("#eval", "run_cmd"):
            if "Lean.versionString" in chunk:
                messages.append(self.msg("info", line, 0, json.dumps(self.args.lean_version)))
                return
            m = re.search(r"addDecl", chunk)
            target = re.search(r"find\?\s+``?([\w.']+)", chunk)
            ok = re.search(r'logInfo\s+"([^"]*)"', chunk)
            if m and target:
                resolved = env.resolve(target.group(1))
                decl = env.decls.get(resolved) if resolved else None
                if decl is None:
                    messages.append(self.msg("error", line, 0, f"ps_audit: {target.group(1)} is not a theorem"))
                elif decl.kernel_bad:
                    messages.append(self.msg("error", line, 0, "(kernel) declaration type mismatch, "
                                             f"'{target.group(1)}' has type\n  {decl.type}\nbut it is expected "
                                             f"to have type\n  {decl.type}"))
                elif ok:
                    messages.append(self.msg("info", line, 0, ok.group(1)))
            return
        if kind in ("def", "abbrev", "opaque", "instance"):
            m = re.search(r"\b(?:def|abbrev|opaque|instance)\s+([\w.']+)", chunk)
            if m:
                body = chunk.split(":=", 1)[1] if ":=" in chunk else ""
                env.decls[env.full(m.group(1))] = Decl(kind, self.axioms_of(body, env))
            return
        if kind in ("theorem", "lemma", "example"):
            self.theorem(kind, chunk, line, env, messages, sorries)

    def theorem(self, kind: str, chunk: str, line: int, env: Env, messages: list, sorries: list) -> None:
        m = re.match(r"(?:@\[[^\]]*\]\s*)?(?:theorem|lemma|example)\s*([\w.']*)", chunk)
        name = m.group(1) if m and kind != "example" else ""
        if ":=" not in chunk:
            messages.append(self.msg("error", line, len(chunk), "unexpected end of input; expected ':='"))
            return
        statement, proof = chunk.split(":=", 1)
        type_ = statement.split(":", 1)[1].strip() if ":" in statement else "?"
        type_ = re.sub(r"^.*?\)\s*:\s*", "", statement).strip() if ")" in statement else type_
        proof_line = line + chunk.count("\n", 0, len(statement) + 2 + len(proof) - len(proof.lstrip()))
        axioms = self.axioms_of(proof, env)
        if not proof.strip():
            messages.append(self.msg("error", proof_line, 0, "unexpected end of input; expected term"))
            if name:
                env.decls[env.full(name)] = Decl("theorem", axioms | {"sorryAx"}, False, type_)
            return
        bad = False
        if re.search(r"\b(wrong|fail)\b", proof):
            messages.append(self.msg("error", proof_line, 0, f"unsolved goals\n⊢ {type_}"))
            axioms.add("sorryAx")
            bad = True
        kernel_bad = False
        if not bad and "standin: kernel-reject" in chunk:
            # `set_option debug.skipKernelTC true in <tactic>` inside the proof: the worst case, it skips the kernel
            if env.skip_kernel or "debug.skipKernelTC true" in proof:
                kernel_bad = True
            else:
                messages.append(self.msg("error", line, 0, f"(kernel) declaration type mismatch, '{name}' has type"
                                         f"\n  {type_}\nbut it is expected to have type\n  {type_}"))
                return
        if re.search(r"\b(sorry|admit)\b", proof):
            messages.append(self.msg("warning", line, len(kind) + 1, "declaration uses 'sorry'"))
            if proof.strip().startswith("by"):
                self.states.append(ProofState([f"⊢ {type_}"], env.copy()))
                at = proof.find("sorry") if "sorry" in proof else proof.find("admit")
                sorries.append({"goal": f"⊢ {type_}", "proofState": len(self.states) - 1,
                                "pos": {"line": proof_line + proof.count("\n", 0, at), "column": 0},
                                "endPos": {"line": proof_line + proof.count("\n", 0, at), "column": 5}})
        if name:
            env.decls[env.full(name)] = Decl("theorem", axioms, kernel_bad, type_)

    # ------------------------------------------------------------------ tactics

    def tactic(self, req: dict) -> dict:
        n = req.get("proofState")
        if not isinstance(n, int) or not 0 <= n < len(self.states):
            return {"message": "Unknown proof state."}
        state = self.states[n]
        tactic = req.get("tactic", "")
        goals = list(state.goals)
        sorry = state.sorry
        if not goals:
            return {"message": "Lean error:\nno goals to be proved"}
        if re.search(r"\b(wrong|fail)\b", tactic):
            return {"proofState": n, "goals": goals,
                    "messages": [self.msg("error", 1, 0, f"unsolved goals\n{goals[0]}")]}
        words = set(re.findall(r"[A-Za-z_][\w!?]*", tactic))
        if re.search(r"\b(sorry|admit)\b", tactic) or words & state.env.aliases:
            goals.pop(0)
            sorry = True
        elif re.match(r"\s*intros?\b", tactic) and "→" in goals[0]:
            hyp, _, rest = goals[0].removeprefix("⊢ ").partition("→")
            names = tactic.split()[1:] or ["h"]
            goals[0] = f"{names[0]} : {hyp.strip()}\n⊢ {rest.strip()}"
        elif re.match(r"\s*constructor\b", tactic) and "∧" in goals[0]:
            ctx, _, goal = goals[0].rpartition("⊢ ")
            left, _, right = goal.partition("∧")
            goals[0:1] = [f"{ctx}⊢ {left.strip()}", f"{ctx}⊢ {right.strip()}"]
        elif CLOSING.match(tactic):
            goals.pop(0)
        self.states.append(ProofState(goals, state.env, sorry))
        status = "Incomplete: contains sorry" if sorry else ("Completed" if not goals else
                                                           "Incomplete: open goals remain")
        out: dict = {"proofState": len(self.states) - 1, "goals": goals, "proofStatus": status}
        return out

    # ------------------------------------------------------------------ main

    def handle(self, req: dict) -> dict:
        self.requests += 1
        if self.args.die_after and self.requests > self.args.die_after:
            os._exit(1)
        self.directives(json.dumps(req, ensure_ascii=False))
        if "cmd" in req:
            return self.command(req)
        if "tactic" in req:
            return self.tactic(req)
        if "pickleTo" in req:
            if "env" in req:
                if not 0 <= req["env"] < len(self.envs):
                    return {"message": "Unknown environment."}
                with open(req["pickleTo"], "w") as fh:
                    json.dump({"standin-env": req["env"]}, fh)
                return {"env": req["env"]}
            return {"message": "pickling proof states is not supported by this stand-in"}
        if "unpickleEnvFrom" in req:
            try:
                with open(req["unpickleEnvFrom"]) as fh:
                    old = json.load(fh)["standin-env"]
            except (OSError, ValueError, KeyError):
                return {"message": f"could not unpickle {req['unpickleEnvFrom']}"}
            self.envs.append(self.envs[old].copy() if 0 <= old < len(self.envs) else Env())
            return {"env": len(self.envs) - 1}
        return {"message": "Could not parse as a valid JSON command"}


def main() -> None:
    parser = argparse.ArgumentParser(description="Lean REPL stand-in (NOT Lean): see the module docstring")
    parser.add_argument("--header-delay", type=float, default=0.0)
    parser.add_argument("--die-after", type=int, default=0)
    parser.add_argument("--lean-version", default="4.9.0-standin")
    args = parser.parse_args()
    repl = Repl(args)
    buf: list[str] = []
    for line in itertools.chain(iter(sys.stdin.readline, ""), ["\n"]):  # EOF ends a last request too
        if line.strip():
            buf.append(line)
            continue
        if not buf:
            continue
        text, buf = "".join(buf), []
        try:
            req = json.loads(text)
        except ValueError as exc:
            resp = {"message": f"Could not parse JSON:\n{exc}"}
        else:
            resp = repl.handle(req) if isinstance(req, dict) else {"message": "expected a JSON object"}
        sys.stdout.write(json.dumps(resp, indent=1, ensure_ascii=False) + "\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
