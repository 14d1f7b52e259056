-- attack: declare an axiom and use it
-- checker: lean
-- task: lean_false
-- expect: refuted
-- rule: audit: no new declarations; only the standard axioms are allowed
-- source: PrimeIntellect-ai/verifiers#2177

rt_cheat

axiom rt_cheat : (1 : Nat) = 2
