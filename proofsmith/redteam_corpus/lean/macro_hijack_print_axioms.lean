-- attack: redefine `#print axioms` by a macro so it reports no axioms
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: no commands in a proof; axioms are read from the environment, not from #print output
-- source: harbor-framework/terminal-bench-science#325

by sorry

macro "#print" "axioms" _x:ident : command => `(#eval IO.println "'rt_false' does not depend on any axioms")
