// attack: #push-options "--admit_smt_queries true"
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: options that admit or lax-check are rejected

#push-options "--admit_smt_queries true"
let rt_false () = ()
#pop-options
