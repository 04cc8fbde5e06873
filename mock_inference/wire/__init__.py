"""Per-API decoders and encoders (pure): wire request → Turn request, Turn → wire answer."""
