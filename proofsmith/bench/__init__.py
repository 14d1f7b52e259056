"""Leaderboard runs: a spec expanded into (task, configuration, seed) jobs, run on a local process pool or Ray,
stored in SQLite one transaction per job (resumable after any kill), and reported with metrics and plots.

Modules: `spec` (the run spec), `jobs` (jobs and the worker that runs them),
`store` (the SQLite store), `local` and `ray_executor` (executors), `runner`
(the driver), `metrics`, `report`, `compare`, `cli`.
"""
