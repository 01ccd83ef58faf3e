"""Couriers behind one interface; the sandbox carrier stands in for real ones locally."""
