"""Generated from protos/calcwire/jobs/v1; do not edit. Regenerate with `make protos`."""
