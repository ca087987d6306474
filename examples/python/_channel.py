"""Shared by the examples: building a channel (TLS, mTLS or explicit plaintext) and
compiling rankd's .proto files into Python modules at run time.

The stubs are generated into a temporary folder on every run instead of being committed: the
contract lives in proto/ only, so a client can never drift from the server it is run against
(the same checkout). grpcio-tools bundles protoc, so nothing else is needed.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import grpc

REPO_PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"


def add_connection_args(parser: argparse.ArgumentParser, default_target: str) -> None:
    parser.add_argument("--target", default=default_target,
                        help=f"host:port of the server (default {default_target})")
    parser.add_argument("--ca", metavar="FILE",
                        help="PEM file of the CA that signed the server certificate (TLS)")
    parser.add_argument("--cert", metavar="FILE",
                        help="client certificate PEM, for servers that require mTLS")
    parser.add_argument("--key", metavar="FILE", help="client private key PEM (with --cert)")
    parser.add_argument("--server-name", metavar="NAME",
                        help="name to verify in the server certificate when it differs from "
                             "the target host (e.g. through kubectl port-forward)")
    parser.add_argument("--round-robin", action="store_true",
                        help="balance calls over every address the target resolves to "
                             "(client-side balancing, e.g. dns:///rankd-headless...:50051)")
    parser.add_argument("--plaintext", action="store_true",
                        help="no TLS (a local server or the plaintext health port); "
                             "must be chosen explicitly")


def fail(message: str) -> None:
    """Usage errors exit 2 (like argparse), so 1 stays "not serving" for health_probe."""
    print(message, file=sys.stderr)
    sys.exit(2)


def open_channel(args: argparse.Namespace) -> grpc.Channel:
    """A TLS channel when --ca is given, plaintext only with --plaintext; neither is an error,
    so that forgetting the CA never silently downgrades to plaintext."""
    if args.plaintext and args.ca:
        fail("--plaintext and --ca exclude each other")
    options = []
    if args.round_robin:
        # grpcio's default, pick_first, sends every call down one connection to one pod.
        options.append(("grpc.lb_policy_name", "round_robin"))
    if args.plaintext:
        return grpc.insecure_channel(args.target, options=options)
    if not args.ca:
        fail("give --ca FILE for TLS, or --plaintext for a server without TLS")
    if bool(args.cert) != bool(args.key):
        fail("--cert and --key go together")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(args.ca).read_bytes(),
        private_key=Path(args.key).read_bytes() if args.key else None,
        certificate_chain=Path(args.cert).read_bytes() if args.cert else None,
    )
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    return grpc.secure_channel(args.target, credentials, options=options)


def load_rankd_stubs(proto_dir: Path | None = None):
    """Compiles rankd/v1/*.proto with grpcio-tools' bundled protoc into a temp folder and
    imports it. Returns (ranker_pb2, ranker_pb2_grpc, admin_pb2, admin_pb2_grpc)."""
    from grpc_tools import protoc  # imported here: only the Rank client needs it

    proto_dir = Path(proto_dir or os.environ.get("RANKD_PROTO_DIR") or REPO_PROTO_DIR)
    files = sorted(str(p) for p in (proto_dir / "rankd" / "v1").glob("*.proto"))
    if not files:
        fail(f"no rankd/v1/*.proto under {proto_dir} (set RANKD_PROTO_DIR)")
    out = tempfile.mkdtemp(prefix="rankd-stubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    status = protoc.main([
        "grpc_tools.protoc", f"-I{proto_dir}", f"-I{well_known}",
        f"--python_out={out}", f"--grpc_python_out={out}", *files,
    ])
    if status != 0:
        fail(f"protoc failed ({status}) on {files}")
    sys.path.insert(0, out)
    return tuple(importlib.import_module(f"rankd.v1.{name}") for name in
                 ("ranker_pb2", "ranker_pb2_grpc", "admin_pb2", "admin_pb2_grpc"))
