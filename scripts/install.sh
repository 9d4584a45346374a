#!/usr/bin/env bash
# make install: the release binary (Swift runtime linked in: a server needs no toolchain),
# shell completions, a manual page per command (from the same help texts as --help), the docs.
#   install.sh ROOT        (ROOT = $(DESTDIR)$(PREFIX), e.g. /usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:?usage: install.sh ROOT}
swift=${SWIFT:-swift}

# The manual pages first (the plugin builds its own release binary), then the binary that is
# installed, in a build directory of its own so that nothing overwrites it.
man=.build/man
rm -rf "$man" && mkdir -p "$man"
"$swift" package --allow-writing-to-package-directory generate-manual --multi-page --output-directory "$man" >/dev/null 2>&1 \
  || { echo "install: generating the manual pages failed" >&2; exit 2; }
"$swift" build -c release --static-swift-stdlib --scratch-path .build-static --product pgseal >/dev/null
bin=$("$swift" build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/pgseal

install -d "$root/bin" "$root/share/man/man1" "$root/share/doc/pgseal" \
  "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
install -m 0755 "$bin" "$root/bin/pgseal"
install -m 0644 "$man"/*.1 "$root/share/man/man1/"
"$bin" --generate-completion-script bash > "$root/share/bash-completion/completions/pgseal"
"$bin" --generate-completion-script zsh > "$root/share/zsh/site-functions/_pgseal"
"$bin" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/pgseal.fish"
install -m 0644 README.md CHANGELOG.md docs/*.md scripts/recompute_digests.py "$root/share/doc/pgseal/"
echo "installed pgseal $("$bin" --version) into $root"
