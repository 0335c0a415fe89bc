"""Generated from protos/calcwire/validation; do not edit. Regenerate with `make protos`."""
