#!/usr/bin/env bash
# radosgw.sh: a single-node Ceph (one monitor, one memstore OSD) with its S3 gateway
# (radosgw) on loopback, for tests and local trials of Parley's S3 support. Nothing is
# persisted: the OSD keeps its objects in memory.
#
#   scripts/radosgw.sh up DIR PORT     start (about 15 s); prints `endpoint=…`, `access_key=…`,
#                                      `secret_key=…`, `region=…` lines
#   scripts/radosgw.sh down DIR        stop every daemon started under DIR
#
# DIR must be empty or absent; the monitor listens on PORT+1. Debian's packages
# (radosgw ceph-mon ceph-osd, from scripts/install-deps.sh) have no vstart.sh, so this is
# the bootstrap by hand: keyrings, monmap, monitor, `osd new` + mkfs, then the gateway and
# an S3 user. Every wait is bounded by RADOSGW_WAIT_S (default 60).
set -euo pipefail

die() { echo "radosgw.sh: $*" >&2 && exit 1; }
WAIT_S=${RADOSGW_WAIT_S:-60}

# Polls `cmd…` until it succeeds or WAIT_S passes.
wait_for() {
  local what=$1 end=$((SECONDS + WAIT_S))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "$what not ready within ${WAIT_S}s (logs: $DIR/log)"
    sleep 0.1
  done
}

up() {
  DIR=$1
  local port=$2 mon_port=$(($2 + 1))
  [[ ! -e $DIR || -z $(ls -A "$DIR") ]] || die "$DIR is not empty"
  mkdir -p "$DIR"/{run,log,mon,osd}
  DIR=$(cd "$DIR" && pwd)
  local fsid conf=$DIR/ceph.conf keyring=$DIR/keyring
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon data = $DIR/mon/\$name
osd data = $DIR/osd/\$name
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
[client.rgw.parley]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw thread pool size = 32
CONF
  ceph-authtool --create-keyring "$keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$DIR/monmap" --keyring "$keyring"
  ceph-mon -c "$conf" -i a >/dev/null 2>&1
  wait_for "the monitor" ceph -c "$conf" --connect-timeout 2 mon stat

  local uuid secret id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  secret=$(ceph-authtool --gen-print-key)
  id=$(echo "{\"cephx_secret\": \"$secret\"}" | ceph -c "$conf" osd new "$uuid" -i -)
  mkdir -p "$DIR/osd/osd.$id"
  ceph-authtool --create-keyring "$DIR/osd/osd.$id/keyring" --name "osd.$id" \
    --add-key "$secret" >/dev/null
  ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" --keyring "$DIR/osd/osd.$id/keyring" \
    >/dev/null 2>&1 || die "ceph-osd --mkfs failed (logs: $DIR/log)"
  ceph-osd -c "$conf" -i "$id" --keyring "$DIR/osd/osd.$id/keyring" >/dev/null 2>&1
  wait_for "the OSD" bash -c "ceph -c '$conf' osd stat | grep -q '1 up'"

  ceph -c "$conf" auth get-or-create client.rgw.parley mon 'allow rw' osd 'allow rwx' \
    -o "$DIR/rgw.keyring" >/dev/null
  radosgw -c "$conf" -n client.rgw.parley -k "$DIR/rgw.keyring" >/dev/null 2>&1
  wait_for "radosgw" curl -fsS --max-time 1 "http://127.0.0.1:$port/"

  local access secret_key
  access="PARLEY$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
  secret_key=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  radosgw-admin -c "$conf" -n client.admin user create --uid=parley --display-name=Parley \
    --access-key="$access" --secret-key="$secret_key" >/dev/null
  cat >"$DIR/s3.env" <<ENV
endpoint=http://127.0.0.1:$port
access_key=$access
secret_key=$secret_key
region=default
ENV
  cat "$DIR/s3.env"
}

down() {
  local dir=$1 pidfile pid end
  for pidfile in "$dir"/run/*.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    end=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

case ${1:-} in
  up) [[ $# == 3 ]] || die "usage: radosgw.sh up DIR PORT"; up "$2" "$3" ;;
  down) [[ $# == 2 ]] || die "usage: radosgw.sh down DIR"; down "$2" ;;
  *) die "usage: radosgw.sh up DIR PORT | down DIR" ;;
esac
