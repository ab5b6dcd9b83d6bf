#!/bin/sh
# setup.sh - install what h4h needs (Debian 12), build it, and run the main
# job on the shipped defaults: `h4h demo`, which searches the shipped
# supernet for the most accurate subnet under three latency budgets on the
# NPU alone and with 8 MRAM CIM macros and prints them side by side (about
# 5 minutes on 2 cores; outputs in demo/).  Safe to run again: a rerun
# reuses demo/h4h.db and takes seconds.
set -eu
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake pkg-config libsystemc-dev \
libsqlite3-dev check libinih-dev libjansson-dev libgsl-dev gnuplot-nox \
zlib1g-dev libdnnl-dev libopenblas-dev dataset-fashion-mnist python3 \
protobuf-c-compiler libprotobuf-c-dev libonnx-dev clang \
openmpi-bin libopenmpi-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "setup: installing$missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq $missing >/dev/null
	else
		echo "setup: missing Debian packages; run as root:" >&2
		echo "  apt-get install -y$missing" >&2
		exit 1
	fi
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] ||
    [ Makefile.am -nt configure ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
	./configure --quiet
fi
make -j"$(nproc)" >/dev/null

./h4h demo --out demo
