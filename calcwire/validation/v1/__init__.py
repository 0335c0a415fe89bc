"""Generated from protos/calcwire/validation/v1; do not edit. Regenerate with `make protos`."""
