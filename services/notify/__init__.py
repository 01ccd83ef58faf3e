"""The notify service: turns lifecycle events into customer messages by SMS and email."""
