// attack: admit () the goal
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: admit is rejected; Warning 335 is a failure

let rt_false () = admit ()
