#!/usr/bin/env bash
# Builds the pinned LocalStack image offline, for machines that have a container
# engine but cannot pull from Docker Hub (air-gapped CI, TLS-intercepting proxies).
#
#   bash build-image.sh            # skip if the image exists; else pull; else build
#   bash build-image.sh --force    # build even if the image exists
#
# From the same `version` and `constraints.txt` the host-mode launcher uses:
#   1. a Debian trixie minbase root filesystem (Python 3.13) by debootstrap from
#      the machine's Debian mirror, imported as a base image;
#   2. wheels of localstack-core[runtime]==<version> built on the host with
#      Python 3.13 and the constraints (pip inside a build container often
#      fails behind TLS interception; pip on the host is already configured);
#   3. a two-line build that installs them with --no-index, entrypoint
#      `python -m localstack.runtime.main`;
#   4. tagged localstack/localstack:<version> and docker.io/localstack/localstack:<version>
#      so testcontainers finds it and never pulls.
# Needs: root (debootstrap), debootstrap, a Python >= 3.13 with pip on the host,
# and a `docker` CLI that reaches any Docker-API engine. About 3-4 minutes; ~900 MB.
#
# Environment:
#   SQS_ENVELOPE_IMAGE_WORKDIR  work folder (rootfs, wheels, build context, log)
#                               default: ${XDG_CACHE_HOME:-$HOME/.cache}/sqs-envelope/localstack-image-<version>
#   SQS_ENVELOPE_IMAGE_NO_PULL  1: do not try `docker pull` first
#   DEBIAN_MIRROR               default: the first Debian URI in /etc/apt/sources.list*, else deb.debian.org
#   LOCALSTACK_PYTHON           the host Python (>= 3.13) that builds the wheels; default: python3.13, pyenv 3.13.x
#   DOCKER                      the CLI to use; default: docker
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
VERSION="$(tr -d '[:space:]' <"$HERE/version")"
IMAGE="localstack/localstack:$VERSION"
DOCKER="${DOCKER:-docker}"
WORK="${SQS_ENVELOPE_IMAGE_WORKDIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sqs-envelope/localstack-image-$VERSION}"
LOG="$WORK/build.log"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

say() { printf '[build-image] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

mkdir -p "$WORK"
: >"$LOG"
# Every step's output goes to the log; on failure, the end of it is printed.
on_error() {
  local code=$?
  say "failed (exit $code); last lines of $LOG:"
  tail -n 40 "$LOG" >&2 || true
  exit "$code"
}
trap on_error ERR

tag_both() {
  "$DOCKER" tag "$IMAGE" "docker.io/$IMAGE" >>"$LOG" 2>&1
}

"$DOCKER" info >>"$LOG" 2>&1 || die "no container engine answers to '$DOCKER info' (start dockerd or podman first)"

if [[ $FORCE == 0 ]] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  tag_both
  say "$IMAGE is present; nothing to do"
  exit 0
fi

if [[ $FORCE == 0 && "${SQS_ENVELOPE_IMAGE_NO_PULL:-0}" != 1 ]]; then
  say "trying docker pull $IMAGE (60 s at most)"
  if timeout 60 "$DOCKER" pull "$IMAGE" >>"$LOG" 2>&1; then
    tag_both
    say "pulled $IMAGE"
    exit 0
  fi
  say "cannot pull $IMAGE; building it offline (log: $LOG)"
fi

# ------------------------------------------------------------------ prerequisites
[[ $(id -u) == 0 ]] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"

find_python() {
  local candidates=()
  [[ -n "${LOCALSTACK_PYTHON:-}" ]] && candidates+=("$LOCALSTACK_PYTHON")
  candidates+=(python3.13)
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  for p in "$root"/versions/3.13.*/bin/python3; do [[ -x $p ]] && candidates+=("$p"); done
  candidates+=(python3)
  for p in "${candidates[@]}"; do
    if "$p" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
# The image's Python is trixie's 3.13, so the wheels are built with a 3.13 too.
PYTHON="$(find_python)" || die "no Python 3.13 on the host to build wheels (set LOCALSTACK_PYTHON)"

debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
    echo "$DEBIAN_MIRROR"
    return
  fi
  local uri
  uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR="$(debian_mirror)"

# ------------------------------------------------------------------ 1. base image
BASE="sqs-envelope/debian-trixie-minbase:localstack-$VERSION"
if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  if [[ ! -f "$WORK/rootfs.tar" ]]; then
    say "debootstrap trixie (minbase, python3) from $MIRROR"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      trixie "$WORK/rootfs" "$MIRROR" >>"$LOG" 2>&1
    rm -rf "$WORK/rootfs/var/cache/apt/archives"/*.deb "$WORK/rootfs/var/lib/apt/lists"/*
    tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar.partial" .
    mv "$WORK/rootfs.tar.partial" "$WORK/rootfs.tar"
    rm -rf "$WORK/rootfs"
  fi
  say "importing the base image $BASE"
  "$DOCKER" import "$WORK/rootfs.tar" "$BASE" >>"$LOG" 2>&1
fi

# ------------------------------------------------------------------ 2. wheels
SPEC="localstack-core[runtime]==$VERSION"
STAMP="$SPEC $(sha256sum "$HERE/constraints.txt" | cut -c1-16) $("$PYTHON" -c 'import platform; print(platform.python_version())')"
if [[ "$(cat "$WORK/wheels/.stamp" 2>/dev/null)" != "$STAMP" ]]; then
  say "building wheels of $SPEC with $PYTHON"
  rm -rf "$WORK/wheels"
  mkdir -p "$WORK/wheels"
  "$PYTHON" -m pip wheel --no-input -c "$HERE/constraints.txt" -w "$WORK/wheels" "$SPEC" >>"$LOG" 2>&1
  echo "$STAMP" >"$WORK/wheels/.stamp"
fi

# ------------------------------------------------------------------ 3. image
CTX="$WORK/context"
rm -rf "$CTX"
mkdir -p "$CTX"
cp -al "$WORK/wheels" "$CTX/wheels" 2>/dev/null || cp -a "$WORK/wheels" "$CTX/wheels"
cp "$HERE/constraints.txt" "$CTX/constraints.txt"
cat >"$CTX/Dockerfile" <<EOF
FROM $BASE
COPY wheels /tmp/wheels
COPY constraints.txt /tmp/constraints.txt
RUN python3 -m venv /opt/localstack/venv \\
 && /opt/localstack/venv/bin/pip install --no-index --no-cache-dir --disable-pip-version-check \\
      --find-links /tmp/wheels -c /tmp/constraints.txt "$SPEC" \\
 && rm -rf /tmp/wheels /tmp/constraints.txt \\
 && mkdir -p /etc/localstack/init/boot.d /etc/localstack/init/start.d /etc/localstack/init/ready.d \\
      /etc/localstack/init/shutdown.d /var/lib/localstack
ENV PATH=/opt/localstack/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    GATEWAY_LISTEN=0.0.0.0:4566 \\
    DISABLE_EVENTS=1 \\
    SKIP_SSL_CERT_DOWNLOAD=1
LABEL org.opencontainers.image.title="LocalStack $VERSION (built offline by sqs-envelope)" \\
      org.opencontainers.image.version="$VERSION"
EXPOSE 4566
HEALTHCHECK --interval=5s --timeout=3s CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/_localstack/health', timeout=2)"
ENTRYPOINT ["python", "-m", "localstack.runtime.main"]
EOF
say "building $IMAGE"
# The classic builder is in every Docker-API engine; the build needs no network.
DOCKER_BUILDKIT=0 "$DOCKER" build --network none -t "$IMAGE" "$CTX" >>"$LOG" 2>&1
tag_both
rm -rf "$CTX"
say "built $IMAGE ($("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
