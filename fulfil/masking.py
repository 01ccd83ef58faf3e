"""Personal data never leaves the command unmasked: the services' own masking (shared)."""

from shared.masking import mask, mask_text

__all__ = ["mask", "mask_text"]
