-- attack: kill the REPL mid-request (a crash with no messages must not read as success)
-- checker: lean
-- task: lean_false_short
-- expect: unknown
-- reason: crash
-- rule: a dead REPL is unknown (crash) after one retry, never verified
-- source: leanprover-community/repl#77

by
  -- standin: crash
  rfl
