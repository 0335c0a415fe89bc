"""Generated from protos/calcwire/evaluation; do not edit. Regenerate with `make protos`."""
