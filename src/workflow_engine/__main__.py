"""`python -m workflow_engine` is `wfe`."""

from workflow_engine.cli import main

main()
