"""tabsession: Tableau REST API sessions that never expire on you."""

__version__ = "0.1.0"
