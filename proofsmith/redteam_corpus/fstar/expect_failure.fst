// attack: [@@expect_failure] so the failing definition is accepted as a file
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: attributes that expect failure are rejected; the definition must exist and check

[@@expect_failure]
let rt_false () = ()
