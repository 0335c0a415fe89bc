"""Generated from protos/calcwire/workbooks/v1; do not edit. Regenerate with `make protos`."""
