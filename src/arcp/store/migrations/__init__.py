"""Versioned schema migrations of the durable stores, one directory per database kind."""
