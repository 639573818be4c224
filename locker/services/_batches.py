"""How many rows one statement of the locker's services writes or looks up."""

from __future__ import annotations

# Rows inserted by one bulk INSERT (keys on databases without COPY, key events).
BATCH = 1000
# Keys looked up or updated by one statement, by fingerprint (import) or id (allocation): at this size
# PostgreSQL probes the index whatever the table's size; at 5,000 it chose to scan the whole key table
# (bench/README.md, "Figures behind the code").
LOOKUP_BATCH = 1000
