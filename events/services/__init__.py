"""Writes of the events app: listener credentials (`listener`), the receiver (`receiver`) and each
tenant's delivery health (`health`)."""
