-- attack: make the REPL never answer, hoping a timeout reads as "no errors"
-- checker: lean
-- task: lean_false_short
-- expect: unknown
-- reason: timeout
-- rule: the checker's own wall clock: no answer is unknown (timeout), never verified
-- source: project-numina/lean-lsp-mcp#10, oOo0oOo/leanclient#16

by
  -- standin: hang
  rfl
