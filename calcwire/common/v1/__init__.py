"""Generated from protos/calcwire/common/v1; do not edit. Regenerate with `make protos`."""
