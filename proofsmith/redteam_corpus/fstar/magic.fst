// attack: magic () of any type
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: magic/unsafe_coerce are rejected

let rt_false () = magic ()
