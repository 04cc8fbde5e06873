"""Mock OpenAI-compatible inference service (vLLM look-alike) for local development."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
