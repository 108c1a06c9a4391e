#!/usr/bin/env bash
# Puts driftsync on the PATH for the GitHub Action (action.yml), trying in
# order: a driftsync already there at the wanted version (a runner image, an
# earlier step), the runner's tool cache, the release binary (checked against
# its published sha256), and last a build of the action's own source, which
# is driftsync at exactly the action's ref (needs cargo; minutes, not seconds).
set -euo pipefail

src="${GITHUB_ACTION_PATH:?run this from action.yml}"
# The action's directory is driftsync's source at the action's ref, so its
# Cargo.toml names the matching release.
version="${DRIFTSYNC_VERSION:-}"
version="${version#v}"
if [ -z "$version" ]; then
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$src/Cargo.toml" | head -n1)"
fi
[ -n "$version" ] || { echo "::error title=driftsync::cannot tell which version to install"; exit 1; }

found() { echo "driftsync $version: $1"; }
if command -v driftsync >/dev/null && driftsync --version | grep -q " $version "; then
  found "already on the PATH"; exit 0
fi

dir="${RUNNER_TOOL_CACHE:-$HOME/.cache}/driftsync/$version/bin"
if [ -x "$dir/driftsync" ]; then
  echo "$dir" >>"$GITHUB_PATH"; found "from the tool cache"; exit 0
fi
mkdir -p "$dir"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux-aarch64) target=aarch64-unknown-linux-gnu ;;
  *) target="" ;;
esac
repo="${ACTION_REPOSITORY:-}"
if [ -n "$target" ] && [ -n "$repo" ]; then
  name="driftsync-$version-$target.tar.gz"
  url="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/v$version/$name"
  tmp="$(mktemp -d)"
  if curl -fsSL --retry 3 -o "$tmp/$name" "$url" && curl -fsSL --retry 3 -o "$tmp/$name.sha256" "$url.sha256"; then
    if ! (cd "$tmp" && echo "$(cut -d' ' -f1 <"$name.sha256")  $name" | sha256sum --check --quiet); then
      rm -rf "$tmp"
      echo "::error title=driftsync::$name does not match its published sha256 ($url.sha256); refusing it"
      exit 1
    fi
    tar -xzf "$tmp/$name" -C "$dir" driftsync
    rm -rf "$tmp"
    echo "$dir" >>"$GITHUB_PATH"; found "release binary for $target"; exit 0
  fi
  rm -rf "$tmp"
  echo "no release binary at $url; building from the action's source"
fi

command -v cargo >/dev/null || { echo "::error title=driftsync::no release binary for this runner and no cargo to build one"; exit 1; }
cargo install --locked --quiet --path "$src" --root "${dir%/bin}"
echo "$dir" >>"$GITHUB_PATH"; found "built from source"
