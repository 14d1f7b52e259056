#!/usr/bin/env python3
"""STAND-IN for `fstar.exe --ide` (F*'s interactive JSON protocol). This is NOT F*.

A test double for proofsmith's F* checker, used only where no F* toolchain
exists (every build machine of this project). It speaks the wire protocol;
it does not parse, type-check or call Z3.

Where the format comes from (read, not copied):

- FStarLang/fstar_dataset `fstar_harness.py` (the checker of the F* dataset,
  arXiv:2405.01787): start `fstar.exe --ide FILE --report_assumes warn
  --include DIR...`, wait for `{"kind": "protocol-info"}`, then queries
  `{"query-id", "query", "args"}` one JSON object per line;
  `push-partial-checked-file {"until-lid"}`, `push {"kind": "full", "code",
  "line", "column"}`, `pop {}`; messages `{"kind": "message", "query-id",
  "level", "contents"}` (progress lines) before the answer `{"kind":
  "response", "query-id", "status": "success"|"failure", "response":
  [issues]}`; an issue is `{"level", "number", "message", "ranges":
  [{"fname", "beg": [line, col], "end"}]}`; the harness fails any answer
  with Warning 335 (`Warning_WarnOnUse`: `assume`/`admit` reported by
  `--report_assumes warn`).
- FStarLang/fstar-vscode-assistant `fstar_messages.ts`: the protocol-info
  fields (`version`, `features`), 1-based lines and 0-based columns.
- The issue texts are F*'s in spirit ("Subtyping check failed", "Z3 ran out
  of resources"); Warning 335's exact wording here is this stand-in's own,
  only its number is F*'s.

Rules (simple and documented so tests can rely on them):

- code containing the word `wrong` fails (Error 19, "Subtyping check failed").
- `assume` or `admit` anywhere in pushed code: Warning 335 (when started
  with `--report_assumes warn`), and the push still succeeds.
- `--admit_smt_queries true` in pushed code: failures are let through (the
  worst case); `[@@expect_failure]` turns a failure into success.
- `standin: needs-rlimit=K`: fails with "rlimit" unless a `--z3rlimit` of at
  least K was pushed in the same code (so recorded options matter).
- directives `standin: hang | crash | garbage | leak=N | slow=S` (`garbage`: a
  non-JSON line, which clients skip, then a truncated JSON line).
- `--die-after N`: exits without answering query N+1.
- `--version` prints a version line and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

FEATURES = ["autocomplete", "compute", "describe-protocol", "describe-repl", "exit", "lookup", "pop", "peek", "push",
            "push-partial-checked-file", "search", "segment", "vfs-add", "interrupt", "progress", "full-buffer",
            "cancel", "restart-solver"]
LEAKED: list[bytearray] = []


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def issue(level: str, number: int, message: str, line: int, fname: str = "<input>") -> dict:
    return {"level": level, "number": number, "message": message,
            "ranges": [{"fname": fname, "beg": [line, 0], "end": [line, 10]}]}


def directives(text: str) -> None:
    for name, value in re.findall(r"standin:\s*([a-z-]+)(?:=([\d.]+))?", text):
        if name == "hang":
            while True:
                time.sleep(3600)
        elif name == "crash":
            os._exit(139)
        elif name == "garbage":
            # a non-JSON line (F* --debug output, skipped by clients) and then a truncated JSON line
            sys.stdout.write("Fatal error: exception Failure(\"this is not JSON\")\n{\"kind\": \"respo\n")
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


def push(args: dict, report_assumes: bool) -> tuple[str, list]:
    code = args.get("code", "")
    base = int(args.get("line", 1) or 1)
    issues = []
    lines = code.splitlines() or [""]
    admit_smt = re.search(r"--admit_smt_queries\s+true", code) is not None
    expect_failure = "expect_failure" in code
    failed = False
    for i, text in enumerate(lines):
        if re.search(r"\bwrong\b", text):
            issues.append(issue("error", 19, "Subtyping check failed; expected type Prims.logical; got type "
                                "Prims.logical; The SMT solver could not prove the query. Use --query_stats for "
                                "more details.", base + i))
            failed = True
        if report_assumes and re.search(r"\b(assume|admit|admitP)\b", text):
            issues.append(issue("warning", 335, "(stand-in) this definition relies on an assumption (assume/admit)",
                                base + i))
    need = re.search(r"standin:\s*needs-rlimit=(\d+)", code)
    if need:
        have = [int(x) for x in re.findall(r"--z3rlimit\s+(\d+)", code)]
        if not have or max(have) < int(need.group(1)):
            issues.append(issue("error", 19, "The SMT solver could not prove the query: rlimit exhausted (Z3 ran out "
                                "of resources)", base))
            failed = True
    if failed and (admit_smt or expect_failure):
        issues = [i for i in issues if i["level"] != "error"]
        failed = False
    return ("failure" if failed else "success"), issues


def main() -> None:
    parser = argparse.ArgumentParser(description="F* --ide stand-in (NOT F*): see the module docstring")
    parser.add_argument("--ide", default=None)
    parser.add_argument("--report_assumes", default=None)
    parser.add_argument("--include", action="append", default=[])
    parser.add_argument("--die-after", type=int, default=0)
    parser.add_argument("--startup-delay", type=float, default=0.0)
    parser.add_argument("--version", action="store_true")
    args, _ = parser.parse_known_args()
    if args.version:
        print("F* 2024.09.05~standin (NOT F*)")
        return
    time.sleep(args.startup_delay)
    send({"kind": "protocol-info", "version": 2, "features": FEATURES})
    stack: list[str] = []
    queries = 0
    for line in iter(sys.stdin.readline, ""):
        if not line.strip():
            continue
        queries += 1
        if args.die_after and queries > args.die_after:
            os._exit(1)
        try:
            req = json.loads(line)
        except ValueError:
            send({"kind": "response", "query-id": "?", "status": "protocol-violation",
                  "response": "JSON parsing error"})
            continue
        qid, query, qargs = req.get("query-id"), req.get("query"), req.get("args") or {}
        directives(json.dumps(qargs))
        if query == "push":
            send({"kind": "message", "query-id": qid, "level": "progress",
                  "contents": {"stage": "full-buffer-fragment-started"}})
            status, issues = push(qargs, args.report_assumes == "warn")
            if status == "success":
                stack.append("push")
            send({"kind": "message", "query-id": qid, "level": "progress",
                  "contents": {"stage": "full-buffer-fragment-done"}})
            send({"kind": "response", "query-id": qid, "status": status, "response": issues})
        elif query == "push-partial-checked-file":
            stack.append(f"partial:{qargs.get('until-lid')}")
            send({"kind": "response", "query-id": qid, "status": "success", "response": []})
        elif query == "pop":
            if stack:
                stack.pop()
                send({"kind": "response", "query-id": qid, "status": "success", "response": None})
            else:
                send({"kind": "response", "query-id": qid, "status": "failure", "response": "Too many pops"})
        elif query == "exit":
            send({"kind": "response", "query-id": qid, "status": "success", "response": None})
            return
        else:
            send({"kind": "response", "query-id": qid, "status": "protocol-violation",
                  "response": f"Unknown query '{query}'"})


if __name__ == "__main__":
    main()
