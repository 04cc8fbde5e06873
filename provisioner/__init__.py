"""Declarative provisioner for the local development stack."""

__version__ = "0.1.0"
