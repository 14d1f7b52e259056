-- attack: close the goal with `admit`
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: admit is rejected (it is sorry)
-- source: project-numina/kimina-lean-server#75

by admit
