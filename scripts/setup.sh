#!/usr/bin/env bash
# Installs what pgseal needs on Debian 12, idempotently and quietly: only what is missing.
set -euo pipefail

apt_packages=(
  pkg-config libpq-dev libcurl4-openssl-dev libarchive-dev libssl-dev openssl
  postgresql-15 postgresql-client-15 zstd age openssh-client tar gzip python3 python3-pip util-linux curl tmux
  chromium poppler-utils fonts-dejavu-core procps time
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/pgseal-setup-apt.log 2>&1 || { cat /tmp/pgseal-setup-apt.log >&2; exit 2; }
  # Debian's postgresql package starts a cluster of its own; pgseal's tests run their own.
fi

# Python packages the tests use, as "import name=pip requirement": pexpect plays the terminal
# for `age -p`; moto's server mode is the S3 server that checks signatures; boto3 sets it up;
# the AWS CLI is what docs/AUDITORS.md has an auditor use (its blocks are run by the tests);
# kubernetes-validate checks the Kubernetes manifests of docs/k8s/ offline against the API's schemas.
# prometheus-client parses the metrics textfile as a scraper would (an oracle that is not pgseal).
python_packages=("pexpect=pexpect" "moto.server=moto[server]" "flask_cors=flask-cors" "boto3=boto3" "awscli=awscli" "kubernetes_validate=kubernetes-validate" "yaml=PyYAML" "prometheus_client=prometheus-client")
for entry in "${python_packages[@]}"; do
  module=${entry%%=*}
  requirement=${entry#*=}
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "setup: installing Python package $requirement" >&2
    python3 -m pip install --quiet "$requirement" >/tmp/pgseal-setup-pip.log 2>&1 \
      || python3 -m pip install --quiet --break-system-packages "$requirement" >>/tmp/pgseal-setup-pip.log 2>&1 \
      || { cat /tmp/pgseal-setup-pip.log >&2; exit 2; }
  fi
done

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  echo "setup: swift is at /opt/swift/usr/bin; add it to PATH" >&2
fi
