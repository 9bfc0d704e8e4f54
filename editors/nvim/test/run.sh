#!/usr/bin/env bash
# Headless tests of the Neovim plugin against the real cmdt-lsp.
#
#   CMDT_LSP=/path/to/cmdt-lsp editors/nvim/test/run.sh [test-file...]
#
# CMDT_LSP unset: the server is built from this repo into a temp dir.
# Each *_test.lua runs in its own `nvim --headless -u NONE` with the plugin
# on 'runtimepath', in a fresh temp workspace (a go.mod at its top, so it is
# its own module root). A test prints PASS/FAIL and exits 0 / non-zero; this
# script exits non-zero if any test failed, and prints the Neovim LSP log of
# failed tests.
set -uo pipefail

TEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PLUGIN_DIR="$(dirname "$TEST_DIR")"
REPO="$(cd "$PLUGIN_DIR/../.." && pwd)"
TIMEOUT="${CMDT_NVIM_TEST_TIMEOUT:-180}"

command -v nvim >/dev/null || { echo "nvim not found: run .ci/nvim.sh (apt-get install neovim)" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/cmdt-nvim-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if [ -z "${CMDT_LSP:-}" ]; then
  echo "building cmdt-lsp (set CMDT_LSP to use a prebuilt one)"
  (cd "$REPO" && go build -o "$TMP/bin/cmdt-lsp" ./cmd/cmdt-lsp) || { echo "FAIL: cannot build ./cmd/cmdt-lsp" >&2; exit 1; }
  CMDT_LSP="$TMP/bin/cmdt-lsp"
fi
[ -x "$CMDT_LSP" ] || { echo "CMDT_LSP=$CMDT_LSP is not an executable" >&2; exit 2; }
CMDT_LSP="$(cd "$(dirname "$CMDT_LSP")" && pwd)/$(basename "$CMDT_LSP")"

echo "$(nvim --version | head -1), server $CMDT_LSP"

tests=()
if [ $# -gt 0 ]; then
  for t in "$@"; do tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")"); done
else
  tests=("$TEST_DIR"/*_test.lua)
fi

failed=()
start=$SECONDS

# The help file must produce tags without errors (duplicate tags: E154).
mkdir -p "$TMP/doc" && cp "$PLUGIN_DIR/doc/cmdt.txt" "$TMP/doc/"
if nvim --headless -u NONE -i NONE -n -c "try | helptags $TMP/doc | catch | cquit 1 | endtry" -c 'qa!' </dev/null >"$TMP/helptags.out" 2>&1 \
   && grep -q '^:CmdtRun\b' "$TMP/doc/tags"; then
  echo "PASS helptags doc/cmdt.txt ($(wc -l <"$TMP/doc/tags") tags)"
else
  echo "FAIL helptags doc/cmdt.txt"; cat "$TMP/helptags.out"; failed+=(helptags)
fi
for t in "${tests[@]}"; do
  name="$(basename "$t" .lua)"
  ws="$TMP/ws-$name"
  mkdir -p "$ws" "$TMP/xdg-$name"
  printf 'module example.com/nvimtest\n\ngo 1.22\n' >"$ws/go.mod"
  t0=$SECONDS
  # -i NONE: no shada; -n: no swap files. XDG dirs isolate lsp.log & co.
  # stdin from /dev/null: CI has none, and nvim must not wait on a TTY.
  # A test ends nvim itself (qa! / cquit); the two -c after it only run if
  # luafile failed before reaching H.run.
  (cd "$ws" && \
    XDG_CACHE_HOME="$TMP/xdg-$name/cache" XDG_STATE_HOME="$TMP/xdg-$name/state" \
    XDG_DATA_HOME="$TMP/xdg-$name/data" XDG_CONFIG_HOME="$TMP/xdg-$name/config" \
    CMDT_LSP="$CMDT_LSP" CMDT_TEST_WORKSPACE="$ws" CMDT_NVIM_TEST_DIR="$TEST_DIR" \
    timeout "$TIMEOUT" nvim --headless -u NONE -i NONE -n \
      --cmd "set rtp^=$PLUGIN_DIR" \
      -c "luafile $t" \
      -c "lua io.stdout:write('FAIL $name: the test file did not finish (Lua error above?)\\n')" \
      -c "cquit 3" </dev/null 2>"$TMP/$name.stderr")
  rc=$?
  if [ $rc -ne 0 ]; then
    [ $rc -eq 124 ] && echo "FAIL $name: timed out after ${TIMEOUT}s"
    failed+=("$name")
    # Neovim's own messages (errors, :echo) go to stderr in headless mode.
    if [ -s "$TMP/$name.stderr" ]; then echo "--- nvim messages"; tr '\r' '\n' <"$TMP/$name.stderr" | tail -n 40; echo; fi
    for log in "$TMP/xdg-$name"/*/nvim/lsp.log; do
      [ -f "$log" ] && { echo "--- $log (last 60 lines)"; tail -n 60 "$log"; }
    done
  fi
  echo "    ($name: exit $rc, $((SECONDS - t0))s)"
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "nvim tests: ${#failed[@]} of $((${#tests[@]} + 1)) FAILED (${failed[*]}) in $((SECONDS - start))s"
  exit 1
fi
echo "nvim tests: all ${#tests[@]} passed in $((SECONDS - start))s"
