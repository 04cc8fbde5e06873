"""Generated views of the stack: a compose file and Kubernetes manifests. Pure: no I/O."""
