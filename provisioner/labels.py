"""The Docker labels that mark what this project owns. Stdlib only: the fast path reads them.

There is no state file: these labels on containers, networks, volumes and images are
the record of what the provisioner created and from which resolved config.
"""

LABEL_PREFIX = "org.provisioner"
LABEL_PROJECT = f"{LABEL_PREFIX}.project"
LABEL_SERVICE = f"{LABEL_PREFIX}.service"
LABEL_HASH = f"{LABEL_PREFIX}.config-hash"
LABEL_CONFIG = f"{LABEL_PREFIX}.config"
LABEL_VOLUME = f"{LABEL_PREFIX}.volume"
LABEL_NETWORK = f"{LABEL_PREFIX}.network"
LABEL_CONTEXT_HASH = f"{LABEL_PREFIX}.build-context-hash"
