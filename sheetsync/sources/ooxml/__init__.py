"""The parts of an .xlsx/.xlsm package, read and written as text and raw bytes, never as a whole workbook.

``zipcopy`` finds the members and copies untouched ones byte for byte;
``xmltext`` edits XML as text so prefixes and unknown content survive; ``opc``
holds relationships and content types; ``workbook``, ``styles`` and ``sheet``
know the parts sheetsync must read, edit or generate; ``charts`` makes
the drawing and chart parts of our own Summary tab.
:mod:`.write` puts them together (and :mod:`sheetsync.sources.excel` finds a sheet's part through
:mod:`.workbook`, as the writer does).
"""
