// attack: kill F* mid-push (no answer must not read as success)
// checker: fstar
// task: fstar_false_short
// expect: unknown
// reason: crash
// rule: a dead F* process is unknown (crash) after one retry, never verified

let rt_false () = () (* standin: crash *)
