"""`python -m proofsmith`: the same as the `proofsmith` command."""

from proofsmith.cli import main

main()
