"""Generated from protos/calcwire/common; do not edit. Regenerate with `make protos`."""
