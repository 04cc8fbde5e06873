"""Helpers shared by the test folders. Tests import them from here, never from another
folder's conftest; the fixtures in `docker_stacks` are a pytest plugin registered in
tests/conftest.py."""
