#!/usr/bin/env bash
# SSH to this machine for the `ray up cluster/lab.yaml` test (head_ip 127.0.0.1).
#
#   .ci/cluster-setup.sh [install]   Debian's openssh-server and rsync, only if missing
#                                    (what .ci/run calls; no daemon is started)
#   .ci/cluster-setup.sh start DIR   an sshd on 127.0.0.1:22 only, for one throwaway user,
#                                    with a throwaway key; prints KEY=VALUE lines
#   .ci/cluster-setup.sh stop DIR    ends that sshd and every process of that user
#
# Why a throwaway user rather than the current one: `ray up`/`ray down` run `ray stop` on
# the head, and `ray stop` ends every Ray process its user may signal. As root that would
# be every Ray on this machine (other tests' clusters included); as an unprivileged user
# with its own home it is only the test's own cluster. Port 22 because Ray's SSH runner has
# no port setting. Nothing listens beyond 127.0.0.1, and only key logins for that user.
# Exit codes: 0 done; 3 cannot install or start (no root/sudo, apt unreachable, port busy).
set -euo pipefail

CI_USER="${EEG_CLUSTER_CI_USER:-eegci}"
SSH_PORT=22

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else echo "cluster-setup: needs root or passwordless sudo for: $*" >&2; exit 3
  fi
}

install_packages() {
  local missing=()
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || { echo "cluster-setup: no apt-get to install ${missing[*]}" >&2; exit 3; }
  # Keep the package's own service from starting (it would listen on every interface).
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    made_policy=1
  fi
  local status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
         "${missing[@]}" >/dev/null 2>&1 || status=$?
  if [ "$made_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
  if [ "$status" -ne 0 ]; then
    echo "cluster-setup: apt-get could not install ${missing[*]} (exit $status; is the archive reachable?)" >&2
    exit 3
  fi
}

start() {
  local dir="$1"
  install_packages
  mkdir -p "$dir" && chmod 700 "$dir"
  if ! id "$CI_USER" >/dev/null 2>&1; then
    as_root useradd --create-home --shell /bin/bash "$CI_USER"
  fi
  # No password, but not locked either (sshd refuses locked accounts even for keys).
  as_root usermod -p '*' "$CI_USER"
  local home
  home="$(getent passwd "$CI_USER" | cut -d: -f6)"
  rm -f "$dir/id_ed25519" "$dir/id_ed25519.pub" "$dir/host_ed25519" "$dir/host_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C "eeg-cluster-ci" -f "$dir/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
  # The key goes to the user's own ~/.ssh (sshd reads it as that user; $dir may be private).
  as_root install -d -m 700 -o "$CI_USER" -g "$(id -gn "$CI_USER")" "$home/.ssh"
  as_root install -m 600 -o "$CI_USER" -g "$(id -gn "$CI_USER")" "$dir/id_ed25519.pub" "$home/.ssh/authorized_keys"
  cat > "$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $CI_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
X11Forwarding no
AllowTcpForwarding local
PrintMotd no
LogLevel ERROR
EOF
  as_root mkdir -p /run/sshd
  if as_root /usr/sbin/sshd -t -f "$dir/sshd_config" && as_root /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"; then :; else
    echo "cluster-setup: sshd did not start on 127.0.0.1:$SSH_PORT (port busy? see $dir/sshd.log)" >&2
    exit 3
  fi
  for _ in $(seq 50); do [ -s "$dir/sshd.pid" ] && break; sleep 0.1; done
  [ -s "$dir/sshd.pid" ] || { echo "cluster-setup: sshd wrote no pid file (see $dir/sshd.log)" >&2; exit 3; }
  echo "SSH_USER=$CI_USER"
  echo "SSH_UID=$(id -u "$CI_USER")"
  echo "SSH_HOME=$home"
  echo "SSH_KEY=$dir/id_ed25519"
  echo "SSHD_PID=$(cat "$dir/sshd.pid")"
}

stop() {
  local dir="$1"
  if [ -s "$dir/sshd.pid" ]; then
    as_root kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
    rm -f "$dir/sshd.pid"
  fi
  if id "$CI_USER" >/dev/null 2>&1; then
    local pids
    pids="$(ps -o pid= -u "$CI_USER" | tr -d ' ' | tr '\n' ' ')"
    if [ -n "$pids" ]; then
      as_root kill -TERM $pids 2>/dev/null || true
      sleep 2
      pids="$(ps -o pid= -u "$CI_USER" | tr -d ' ' | tr '\n' ' ')"
      [ -z "$pids" ] || as_root kill -KILL $pids 2>/dev/null || true
    fi
  fi
}

case "${1:-install}" in
  install) install_packages ;;
  start) start "${2:?usage: $0 start DIR}" ;;
  stop) stop "${2:?usage: $0 stop DIR}" ;;
  *) echo "usage: $0 [install | start DIR | stop DIR]" >&2; exit 2 ;;
esac
