"""`python -m fulfil`."""

from fulfil.cli import main

main()
