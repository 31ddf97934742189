# The dashboard's browser test needs headless Chromium driven by Selenium. This installs
# Debian's chromium and chromium-driver (and fonts-wqy-zenhei, so Chinese text in records reads in
# the screenshots instead of empty boxes) with apt-get and the PyPI package selenium with pip.
# No browser download is reachable from here: browser_test.py points Selenium at
# /usr/bin/chromium and /usr/bin/chromedriver and keeps Selenium Manager offline.
#   source tools/lib/browser.sh; ensure_browser || exit 1
# shellcheck shell=bash

CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
CHROMEDRIVER_BIN="${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}"

_browser_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
_browser_fail() { printf '\033[31mensure_browser: %s\033[0m\n' "$*" >&2; return 1; }

# Installs what is missing; prints a clear message and returns non-zero when it cannot.
ensure_browser() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local python="${PYTHON:-python3}"
  local missing=() pkg out
  for pkg in chromium chromium-driver fonts-wqy-zenhei; do
    # (dpkg -s succeeds for a removed package whose config files remain: ask for the status.)
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  command -v "$python" >/dev/null 2>&1 || missing+=(python3)
  "$python" -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)

  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || { _browser_fail "apt-get not found: install ${missing[*]} by hand"; return 1; }
    _browser_log "installing ${missing[*]} with apt-get"
    # Without a package list (a fresh machine) apt-get cannot find them: update first then.
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
      $sudo apt-get update -qq >/dev/null 2>&1 || { _browser_fail "apt-get update failed"; return 1; }
    fi
    if ! out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
      # A stale package list can point at versions the mirror no longer has: refresh once and retry.
      $sudo apt-get update -qq >/dev/null 2>&1
      out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1) \
        || { _browser_fail "apt-get install ${missing[*]} failed: $(tail -n 5 <<<"$out")"; return 1; }
    fi
  fi
  [ -x "$CHROMIUM_BIN" ] || { _browser_fail "$CHROMIUM_BIN missing after installing chromium"; return 1; }
  [ -x "$CHROMEDRIVER_BIN" ] || { _browser_fail "$CHROMEDRIVER_BIN missing after installing chromium-driver"; return 1; }

  # Selenium 4.11 or later (Service(log_output=...), Chromium's --headless=new).
  local have_selenium='import sys, selenium; sys.exit(tuple(int(x) for x in selenium.__version__.split(".")[:2]) < (4, 11))'
  if ! "$python" -c "$have_selenium" >/dev/null 2>&1; then
    _browser_log "installing selenium with pip"
    if ! out=$("$python" -m pip install --quiet --disable-pip-version-check 'selenium>=4.11,<5' 2>&1); then
      # Debian's own python3 refuses pip installs outside a venv (PEP 668).
      if grep -q externally-managed <<<"$out"; then
        out=$("$python" -m pip install --quiet --disable-pip-version-check --break-system-packages 'selenium>=4.11,<5' 2>&1) \
          || { _browser_fail "pip install selenium failed: $out"; return 1; }
      else
        _browser_fail "pip install selenium failed: $out"; return 1
      fi
    fi
    "$python" -c "$have_selenium" >/dev/null 2>&1 || { _browser_fail "selenium (4.11 or later) does not import after pip install"; return 1; }
  fi
  # Selenium Manager must never try to download a browser or a driver here.
  export SE_OFFLINE=true
  export CHROMIUM_BIN CHROMEDRIVER_BIN
  _browser_log "browser: $("$CHROMIUM_BIN" --version 2>/dev/null | head -1), $("$CHROMEDRIVER_BIN" --version 2>/dev/null | cut -d' ' -f1-2), selenium $("$python" -c 'import selenium; print(selenium.__version__)')"
}
