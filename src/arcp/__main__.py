"""``python -m arcp`` runs the command line."""

from arcp.cli import main

main()
