"""Data stages as pure functions: fetch, clean, split, vocab, encode."""
