"""The data model: what a pipeline row is and how a table of raw cells becomes typed rows.

``values`` (cell values, serial dates, column letters, addresses, tab names),
``fields`` (the fields, their headers and aliases, a tab's layout),
``parse`` (one cell → one typed value), ``reader`` (a table → rows) and
``quotas`` (the Quotas tab).  Nothing here opens a file or talks to a
backend: the rows come in as ``(row number, values)`` from :mod:`sheetsync.sources`.
This package imports none of its modules, so each can be imported alone
(``config`` needs only ``fields``).
"""
