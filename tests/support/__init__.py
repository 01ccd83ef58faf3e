"""Test support: the real broker and database, and helpers to drive and observe them."""
