#!/usr/bin/env bash
# Embedding a station: builds examples/embedded (a separate package that depends on this one by
# path, the program README's "Embedding a station" shows) and runs it twice against a live hub:
# it makes its station, writes, syncs and reads; the second run opens the same station.
#   bash tools/lib/embed-test.sh BIN_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
BIN_DIR="${1:-$ROOT/.build/debug}"
WORK="$(mktemp -d -t stationsync-embed-XXXXXX)"
HUB_PID=""
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The README shows this program as it is.
python3 - "$ROOT" <<'PY'
import sys
root = sys.argv[1]
code = open(f"{root}/examples/embedded/Sources/Desk/main.swift").read()
if "```swift\n" + code + "```" not in open(f"{root}/README.md").read():
    sys.exit("embed-test: README's \"Embedding a station\" does not show examples/embedded/Sources/Desk/main.swift as it is")
PY

# Its own build folder: the example's packages are this checkout's, built once for it.
swift build --package-path "$ROOT/examples/embedded" --scratch-path "$ROOT/.build-embed" 2>&1 | tail -1
DESK="$(swift build --package-path "$ROOT/examples/embedded" --scratch-path "$ROOT/.build-embed" --show-bin-path)/Desk"

"$BIN_DIR/hub" init --db "$WORK/hub.sqlite" >/dev/null 2>&1
TOKEN="$("$BIN_DIR/hub" token add --db "$WORK/hub.sqlite" charity 2>/dev/null)"
"$BIN_DIR/hub" serve --db "$WORK/hub.sqlite" --listen 127.0.0.1:0 >"$WORK/hub.out" 2>"$WORK/hub.err" &
HUB_PID=$!
URL=""
for _ in $(seq 1 200); do
  URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/hub.out" | head -1 || true)"
  if [ -n "$URL" ] && curl -sf "$URL/v1/health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
[ -n "$URL" ] || { echo "embed-test: the hub did not start: $(cat "$WORK/hub.err")" >&2; exit 1; }

first="$("$DESK" "$WORK/desk.sqlite" "$URL" "$TOKEN")"
second="$("$DESK" "$WORK/desk.sqlite" "$URL" "$TOKEN")"
echo "$first" | sed 's/^/  first run:  /'
echo "$second" | sed 's/^/  second run: /'
grep -q '^pushed 1, pulled 0' <<<"$first" || { echo "embed-test: the first run did not push its record" >&2; exit 1; }
grep -q '^stk-0042 "Rice, 10 kg bag" 18$' <<<"$first" || { echo "embed-test: the first run did not read its record back" >&2; exit 1; }
grep -q '^stk-0042 "Rice, 10 kg bag" 16$' <<<"$second" || { echo "embed-test: the second run did not open the same station" >&2; exit 1; }
# The hub holds it, with its author.
"$BIN_DIR/station" get charity_stock stk-0042 --db "$WORK/hub.sqlite" --json | grep -q '"quantity":16' ||
  { echo "embed-test: the hub does not hold the desk's record" >&2; exit 1; }
"$BIN_DIR/station" changes --db "$WORK/hub.sqlite" --json | grep -q '"Li Na"' ||
  { echo "embed-test: the desk's author did not reach the hub" >&2; exit 1; }
echo "embed-test: ok (a separate package built against this one wrote, synced and read)"
