"""Loaders that turn benchmark files into Tasks (and candidate files into Candidates)."""
