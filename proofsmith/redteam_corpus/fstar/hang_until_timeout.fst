// attack: make F* never answer, hoping a timeout reads as success
// checker: fstar
// task: fstar_false_short
// expect: unknown
// reason: timeout
// rule: the checker's own wall clock: no answer is unknown (timeout), never verified

let rt_false () = () (* standin: hang *)
