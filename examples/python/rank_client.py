#!/usr/bin/env python3
"""Calls rankd's Ranker.Rank for one user and prints the ranked items.

    RANKD_TOKEN=... python rank_client.py --target rankd.example:50051 --ca ca.crt --user u1

The bearer token is read from the environment (RANKD_TOKEN), never from argv: a command line
is visible to every user of the machine in `ps` and lands in shell history. It is sent as
`authorization: Bearer <token>` metadata on the call. Stubs are compiled from proto/ at run
time (see _channel.py).
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc

from _channel import add_connection_args, load_rankd_stubs, open_channel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_connection_args(parser, default_target="localhost:50051")
    parser.add_argument("--user", default="", help="user id (empty: anonymous)")
    parser.add_argument("--recent", default="",
                        help="comma-separated recent item ids, newest first")
    parser.add_argument("--query", default="", help="search query text")
    parser.add_argument("-k", "--k", type=int, default=10, help="items to return")
    parser.add_argument("--category", action="append", default=[],
                        help="only items of this category (repeatable: any of them)")
    parser.add_argument("--min-price", type=float)
    parser.add_argument("--max-price", type=float)
    parser.add_argument("--exclude-seen", action="store_true")
    parser.add_argument("--explain", action="store_true",
                        help="ask for stage timings and score contributions")
    parser.add_argument("--info", action="store_true",
                        help="also call Admin.Info (needs a token with the admin role)")
    parser.add_argument("--timeout", type=float, default=5.0, help="deadline in seconds")
    parser.add_argument("--proto-dir", help="folder holding rankd/v1/*.proto "
                        "(default: the repo's proto/, or $RANKD_PROTO_DIR)")
    args = parser.parse_args()

    ranker_pb2, ranker_grpc, admin_pb2, admin_grpc = load_rankd_stubs(args.proto_dir)
    token = os.environ.get("RANKD_TOKEN", "").strip()
    metadata = [("authorization", f"Bearer {token}")] if token else []
    if token and args.plaintext:
        print("warning: sending a bearer token over plaintext", file=sys.stderr)

    request = ranker_pb2.RankRequest(
        user_id=args.user,
        recent_item_ids=[i for i in args.recent.split(",") if i],
        query=args.query,
        k=args.k,
        exclude_seen=args.exclude_seen,
        explain=args.explain,
    )
    request.filter.categories.extend(args.category)
    if args.min_price is not None:
        request.filter.min_price = args.min_price
    if args.max_price is not None:
        request.filter.max_price = args.max_price

    with open_channel(args) as channel:
        try:
            if args.info:
                info = admin_grpc.AdminStub(channel).Info(
                    admin_pb2.InfoRequest(), metadata=metadata, timeout=args.timeout)
                print(f"server {info.server_version}, index {info.index.name}/"
                      f"{info.index.version} ({info.index.item_count} items), "
                      f"model {info.model_version}, device {info.device}")
            reply = ranker_grpc.RankerStub(channel).Rank(
                request, metadata=metadata, timeout=args.timeout)
        except grpc.RpcError as err:
            # The status code is the contract (UNAUTHENTICATED, INVALID_ARGUMENT, ...).
            print(f"{err.code().name}: {err.details()}", file=sys.stderr)
            return 1

    print(f"request {reply.request_id}: index {reply.index_version}, "
          f"model {reply.model_version}, {len(reply.items)} items")
    for position, item in enumerate(reply.items, 1):
        print(f"{position:3}. {item.item_id:<24} score {item.score:.4f}  "
              f"retrieval {item.retrieval_score:+.4f} (#{item.retrieval_rank})")
        for c in item.contributions:
            print(f"       {c.group:<20} {c.contribution:+.4f}")
    for timing in reply.timings:
        print(f"  {timing.stage:<12} {timing.micros} us")
    if reply.unknown_recent_items:
        print(f"({reply.unknown_recent_items} recent items unknown to the index)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
