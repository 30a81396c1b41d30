#!/usr/bin/env bash
# Installs, with apt-get, whatever failsoft needs to build and test that the
# machine lacks. Does nothing when everything is present.
set -euo pipefail

packages=(build-essential cmake pkg-config libsdl2-dev libcjson-dev
          libserialport-dev libcmocka-dev zlib1g-dev
          libsdl2-image-dev libsdl2-ttf-dev fonts-dejavu-core)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
