# syntax=docker/dockerfile:1.7
#
# rankd container images. BuildKit is required (cache mounts).
#
#   docker build -t rankd:cpu .                   # default target: CPU runtime, Debian slim
#   docker build --target cuda -t rankd:cuda .    # CUDA 13.0 runtime, kernels for sm_90 (H100/H200)
#
# Both run as uid/gid 10001, with `rankd serve --config /etc/rankd/config/rankd.toml`; the
# config baked in is deploy/k8s/base/rankd.toml, the same file the Kubernetes ConfigMap holds
# (which mounts over it). Secrets (TLS, tokens, HMAC key) are never in the image: mount them at
# the paths that file names. Walk-through: docs/deploy.md.
#
# No HEALTHCHECK: Kubernetes ignores it (kubelet runs the pod's own probes, here native gRPC
# probes on the plaintext health port), and a Docker HEALTHCHECK would need a gRPC health
# client in the image. Outside Kubernetes use examples/python/health_probe.py or grpcurl.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
# 13.0, not newer: a newer nvcc emits PTX that a CUDA 13.0 driver (R580) cannot load
# (shared/gpu.md). The runtime image must not be newer than the hosts' driver either.
ARG CUDA_VERSION=13.0.1

# ---------------------------------------------------------------------------------------------
# CPU build. The toolchain image's Debian release is the runtime's, so glibc matches.
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target/ between builds (incremental rebuilds in seconds
# instead of a full ~10 min on 2 cores); target/ is a cache, so the binary is copied out of it
# in the same step. --strip-debug drops the line tables (166 MB -> 25 MB) but keeps symbols,
# so panics still show function names.
RUN --mount=type=cache,id=rankd-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=rankd-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=rankd-target-cpu,target=/src/target,sharing=locked \
    cargo build --release --locked --bin rankd \
    && objcopy --strip-debug target/release/rankd /usr/local/bin/rankd

# ---------------------------------------------------------------------------------------------
# CPU runtime (the default target is the last stage, so it is `cpu`, listed last below; this
# alias keeps `--target cpu` explicit).
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-base
# Numeric uid/gid so Kubernetes' runAsNonRoot can check them without reading /etc/passwd.
RUN groupadd --system --gid 10001 rankd \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin rankd \
    && mkdir -p /var/lib/rankd/shared/index /var/lib/rankd/feedback /etc/rankd/config \
    && chown -R 10001:10001 /var/lib/rankd
COPY deploy/k8s/base/rankd.toml /etc/rankd/config/rankd.toml
# 50051 gRPC (TLS), 8081 plaintext grpc.health.v1 only, 9090 Prometheus /metrics.
EXPOSE 50051 8081 9090
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/rankd"]
CMD ["serve", "--config", "/etc/rankd/config/rankd.toml"]

# ---------------------------------------------------------------------------------------------
# CUDA build (shared/gpu.md): candle's kernels are compiled by nvcc for one compute
# capability; cudarc links libcuda at build time against the toolkit's stub, and the real
# libcuda.so.1 comes from the host driver at run time (NVIDIA container toolkit).
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS rust-toolchain
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04 AS build-cuda
# The Rust toolchain is copied from the official image instead of piped from a download
# script; rustc built for Debian's older glibc runs on Ubuntu 24.04.
COPY --from=rust-toolchain /usr/local/cargo /usr/local/cargo
COPY --from=rust-toolchain /usr/local/rustup /usr/local/rustup
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# 90 = Hopper (H100/H200): candle builds sm_90a kernels only, so the image runs on Hopper
# alone; pass --build-arg CUDA_COMPUTE_CAP=80 (A100), 89 (L4/L40S), ... for other GPUs.
ARG CUDA_COMPUTE_CAP=90
ENV CUDA_HOME=/usr/local/cuda CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP} CUDARC_CUDA_VERSION=13000 \
    LIBRARY_PATH=/usr/local/cuda/lib64/stubs
WORKDIR /src
COPY . .
RUN --mount=type=cache,id=rankd-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=rankd-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=rankd-target-cuda,target=/src/target,sharing=locked \
    cargo build --release --locked --features cuda --bin rankd \
    && objcopy --strip-debug target/release/rankd /usr/local/bin/rankd

# ---------------------------------------------------------------------------------------------
# CUDA runtime: cuBLAS, cuBLASLt, cuRAND and cudart from the `runtime` flavour (the binary
# links them dynamically); `base` lacks cuBLAS. Run with a GPU request (nvidia.com/gpu) or
# `docker run --gpus all`.
FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04 AS cuda
RUN groupadd --system --gid 10001 rankd \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin rankd \
    && mkdir -p /var/lib/rankd/shared/index /var/lib/rankd/feedback /etc/rankd/config \
    && chown -R 10001:10001 /var/lib/rankd
COPY deploy/k8s/base/rankd.toml /etc/rankd/config/rankd.toml
COPY --from=build-cuda /usr/local/bin/rankd /usr/local/bin/rankd
# Only the compute capability is needed from the driver (no graphics, no video).
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
EXPOSE 50051 8081 9090
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/rankd"]
CMD ["serve", "--config", "/etc/rankd/config/rankd.toml"]

# ---------------------------------------------------------------------------------------------
# Default target (last stage): the CPU image.
FROM runtime-base AS cpu
COPY --from=build /usr/local/bin/rankd /usr/local/bin/rankd
