"""A damaged journal: read page by page (pages.py), row by row (rows.py), rebuilt (rebuild.py)."""
