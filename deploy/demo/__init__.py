"""The live shop: `python -m deploy.demo` (see __main__.py)."""
