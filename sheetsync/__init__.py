"""sheetsync: keep a sales pipeline spreadsheet qualified, summarised and followed up."""

__version__ = "0.1.0"
