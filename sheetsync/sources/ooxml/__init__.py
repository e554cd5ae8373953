"""The OOXML parts sheetsync generates for an Excel package (drawings and charts so far)."""
