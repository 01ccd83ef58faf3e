"""The five services. None imports another; they meet only through shared.contracts."""
