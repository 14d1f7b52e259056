// attack: #push-options "--admit_except" for everything but a dummy
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: options that admit are rejected

#push-options "--admit_except Nothing"
let rt_false () = ()
#pop-options
