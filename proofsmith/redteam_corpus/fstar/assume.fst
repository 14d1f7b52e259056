// attack: assume the goal
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: assume is rejected; Warning 335 is a failure

let rt_false () = assume (1 == 2)
