import sys

try:
    from provisioner.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: no traceback either
    print("Interrupted.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
