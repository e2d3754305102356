# knetlab and every tool it runs (iproute2, iptables, nftables, ipset, ipvsadm, conntrack, curl,
# nginx, python3 ...), built from this checkout, `knetlab` on PATH. See docs/ci.md.
#
#   docker build -t knetlab .
#   docker run --rm --privileged -v "$PWD/scenarios:/work/scenarios:ro" knetlab knetlab run -r pretty scenarios/
#
# --privileged: knetlab makes network namespaces, veths, bridges, iptables/nftables rules, sysctls
# and mounts (its sandbox) on the host's kernel. The kernel is the host's: the modules knetlab needs
# (ip_vs for IPVS mode, vxlan, br_netfilter ...) must be loaded on the host, or /lib/modules mounted.
FROM node:20-bookworm-slim

# The packages scripts/provision installs (Node 20 is the image's own, and kept); it loads no
# modules here (a container has no /lib/modules of the running kernel).
COPY scripts/provision /opt/knetlab/scripts/provision
RUN bash /opt/knetlab/scripts/provision && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/knetlab
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY src src
COPY scripts scripts
COPY scenarios scenarios
# Built, dev dependencies dropped, on PATH; validating the examples checks the build works (no root needed).
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
  && chmod 0755 dist/cli/main.js \
  && ln -s /opt/knetlab/dist/cli/main.js /usr/local/bin/knetlab \
  && knetlab --version \
  && knetlab validate -q scenarios

# Scenarios are mounted here; reports and knetlab-diagnostics/ are written here.
WORKDIR /work
CMD ["knetlab", "--help"]
