"""``python -m shiptrack``."""

from shiptrack.cli import main

main()
