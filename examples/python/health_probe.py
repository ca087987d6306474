#!/usr/bin/env python3
"""grpc.health.v1 Check against rankd, like an orchestrator or load balancer would do.

    python health_probe.py --target localhost:8081 --plaintext --service rankd.v1.Ranker
    python health_probe.py --target rankd.example:50051 --ca ca.crt

Exit status: 0 SERVING, 1 any other status (NOT_SERVING while loading or draining,
SERVICE_UNKNOWN), 2 the call failed (unreachable, TLS error, deadline). Health needs no
token. Services: "" (the process), "rankd.v1.Ranker", "rankd.v1.Admin".
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from _channel import add_connection_args, open_channel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_connection_args(parser, default_target="localhost:8081")
    parser.add_argument("--service", default="",
                        help='service to check: "" (default), rankd.v1.Ranker, rankd.v1.Admin')
    parser.add_argument("--timeout", type=float, default=2.0, help="deadline in seconds")
    args = parser.parse_args()

    with open_channel(args) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout)
        except grpc.RpcError as err:
            # NOT_FOUND is how grpc.health.v1 says "no such service".
            print(f"{args.service or '(server)'}: {err.code().name}: {err.details()}",
                  file=sys.stderr)
            return 2
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{args.service or '(server)'}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
