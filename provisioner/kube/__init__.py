"""The Kubernetes target: the same stack, converged on a cluster through its API.

Imported only when `--target kubernetes` is given: the Docker path and the no-op fast
path never load lightkube.
"""
