"""What every Google API call of sheetsync shares: retries and sessions (``http``), credentials (``credentials``).

Neutral ground for the Sheets backend (:mod:`sheetsync.sources.gsheets`) and
Gmail (:mod:`sheetsync.gmail`): it knows no API's meaning, words no user
message for one, and imports google-auth and requests only inside functions.
"""
