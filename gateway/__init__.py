"""The public endpoint: checks each call's API key and its key's limits, forwards every
call of the public services to the backend that owns it with the key's tenant, serves
health by service name and reflection. Run as ``python -m gateway``; API keys are
managed with ``calcwire admin keys``."""
