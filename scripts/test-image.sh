#!/usr/bin/env bash
# make test-image: the image `make image` built, its root filesystem taken out of it as the
# container engine stores it (podman create + export: nothing is run, which this machine's
# sandbox refuses) and put through the same checks as `make test-install`; and the image's
# configuration: the user pgseal, pgseal as the entrypoint.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test-image: run as root (podman and chroot)" >&2; exit 2; }
version=$("$(${SWIFT:-swift} build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/pgseal" --version)
image="localhost/pgseal:$version"
fail() { echo "test-image: FAILED: $*" >&2; exit 1; }
podman image exists "$image" || fail "no image $image: run make image first"
[ "$(podman image inspect --format '{{.Config.User}}' "$image")" = pgseal ] || fail "the image does not run as the user pgseal"
[ "$(podman image inspect --format '{{index .Config.Entrypoint 0}}' "$image")" = /usr/local/bin/pgseal ] || fail "the image's entrypoint is not pgseal"
work=$(mktemp -d /tmp/pgseal-test-image.XXXXXX)
container=pgseal-test-image-$$
trap 'podman rm -f "$container" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
podman create --name "$container" "$image" >/dev/null
mkdir "$work/root"
podman export "$container" | tar -C "$work/root" -xf -
echo "test-image: the root of $image ($(du -sh "$work/root" | cut -f1)), unpacked from the image"
scripts/test-root.sh "$work/root" test-image
