"""Generated from protos/calcwire/workbooks; do not edit. Regenerate with `make protos`."""
