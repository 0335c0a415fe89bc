"""The public endpoint: forwards every call of the public services to the backend
that owns it, serves health by service name and reflection. Run as ``python -m gateway``."""
