"""``python -m eval_svc``: its gRPC server and JetStream worker (CALCWIRE_ROLE chooses).

Its servicers and worker are registered by a ``setup`` function when they
land (later issues); for now it serves health and reflection only.
"""

from calcwire.server import ServiceSpec, main

SPEC = ServiceSpec(name="eval_svc", schema="evaluation")

if __name__ == "__main__":
    main(SPEC)
