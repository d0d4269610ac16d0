# Sourced by the install scripts: apt-get as root (directly or through sudo) that waits for a
# busy package manager (another apt or dpkg holding its lock) instead of failing.
#
#   source scripts/apt.sh; apt_install PACKAGE...

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# apt-get with its arguments; waits up to 10 minutes for the dpkg lock, and retries while the
# package lists' lock (taken by a concurrent `apt-get update`) is busy.
apt_get() {
  local attempt output
  for attempt in $(seq 1 60); do
    if output=$(DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1); then
      [ -n "$output" ] && echo "$output" >&2
      return 0
    fi
    if ! grep -qiE 'could not get lock|unable to lock|is another process using it' <<<"$output"; then
      echo "$output" >&2
      return 1
    fi
    echo "apt-get is busy (another package manager holds its lock); waiting… ($attempt/60)" >&2
    sleep 10
  done
  echo "$output" >&2
  return 1
}

# Install Debian packages, refreshing the package lists first.
apt_install() {
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "$@"
}
