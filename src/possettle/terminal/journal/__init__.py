"""The terminal's journal: intent before action, outcome after, in one SQLite file."""
