// attack: unsafe_coerce a proof of 1 == 1
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: magic/unsafe_coerce are rejected

let rt_false () = unsafe_coerce (() <: squash (1 == 1))
