// attack: silence Warning 335 (assumption) with --warn_error
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: options are rejected

#set-options "--warn_error -335 --report_assumes off"
let rt_false () = assume (1 == 2)
