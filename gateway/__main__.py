"""``python -m gateway``: the public endpoint (CALCWIRE_LISTEN, default 0.0.0.0:50051)."""

from calcwire.server import main
from gateway.app import gateway_spec

if __name__ == "__main__":
    main(gateway_spec())
