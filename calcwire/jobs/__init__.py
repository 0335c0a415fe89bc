"""Generated from protos/calcwire/jobs; do not edit. Regenerate with `make protos`."""
