// attack: a tactic that admits the goal (tadmit)
// checker: fstar
// task: fstar_false
// expect: refuted
// rule: audit: admit in any form is rejected

let rt_false () = assert (1 == 2) by (FStar.Tactics.tadmit ())
