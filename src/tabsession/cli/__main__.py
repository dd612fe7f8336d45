"""`python -m tabsession.cli`: the same as the `tabsession` command."""

from tabsession.cli import main

main()
