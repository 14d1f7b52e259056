-- attack: add a declaration to the environment from metaprogramming, skipping the kernel
-- checker: lean
-- task: lean_false_prop
-- expect: refuted
-- rule: audit: no commands/#eval/run_cmd; the environment is replayed through the kernel

by sorry

run_cmd Lean.modifyEnv fun env => env
