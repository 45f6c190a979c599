#!/usr/bin/env bash
# Debian packages the tests and the demo need beyond Python itself: Qt's runtime libraries for the
# offscreen/xcb platforms, CUPS for the raw label queue, socat for named serial pairs, DejaVu
# fonts for packing slips (names and addresses beyond Latin-1).
# Installs only what is missing, so a second run costs nothing.
set -euo pipefail
need=()
for pkg in libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 \
           libxkbcommon-x11-0 libxcb-cursor0 libpulse0 socat cups cups-bsd cups-client \
           fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "packline: missing Debian packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
