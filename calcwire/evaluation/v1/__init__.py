"""Generated from protos/calcwire/evaluation/v1; do not edit. Regenerate with `make protos`."""
