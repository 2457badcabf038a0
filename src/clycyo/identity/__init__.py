"""Persons and visits: the tables the writer derives from events, and how a person is resolved.

The writer's deriver (`deriver.py`) cuts each visitor's browser events into visits and records
identity links; queries resolve a person from those links at query time (`persons.py`). Nothing
here answers HTTP or builds query-API SQL beyond the person and visit relations.
"""
