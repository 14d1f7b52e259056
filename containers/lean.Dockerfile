# The image the Lean checker runs in (`--sandbox docker`, PROOFSMITH_LEAN_IMAGE=proofsmith/lean:v4.15.0).
# elan, one pinned Lean toolchain, leanprover-community/repl and Mathlib at the tag of that toolchain, with
# Mathlib's prebuilt .olean cache. Everything is fetched at build time; a check runs with no network.
# NOT built on proofsmith's build machines (no GitHub there): see containers/README.md.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# Lean, the REPL and Mathlib must agree: Mathlib and the REPL tag their releases by Lean version.
ARG LEAN_VERSION=v4.15.0
ARG ELAN_VERSION=v3.1.1
ARG REPL_REF=v4.15.0
ARG MATHLIB_REF=v4.15.0

ENV ELAN_HOME=/opt/elan \
    PATH=/opt/elan/bin:/usr/local/bin:/usr/bin:/bin \
    LANG=C.UTF-8

SHELL ["/bin/bash", "-euo", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl git libgmp10 \
 && rm -rf /var/lib/apt/lists/*

# elan from a tagged release script; the toolchain pinned, no default channel.
RUN curl -sSfL "https://raw.githubusercontent.com/leanprover/elan/${ELAN_VERSION}/elan-init.sh" -o /tmp/elan-init.sh \
 && sh /tmp/elan-init.sh -y --no-modify-path --default-toolchain "leanprover/lean4:${LEAN_VERSION}" \
 && rm /tmp/elan-init.sh \
 && lean --version && lake --version

# The REPL (leanprover-community/repl), built for this toolchain.
RUN git clone --depth 1 --branch "${REPL_REF}" https://github.com/leanprover-community/repl.git /opt/repl \
 && cd /opt/repl \
 && test "$(cat lean-toolchain)" = "leanprover/lean4:${LEAN_VERSION}" \
 && lake build \
 && test -x /opt/repl/.lake/build/bin/repl

# Mathlib with its prebuilt cache (`lake exe cache get` downloads the .olean files; several GB).
RUN git clone --depth 1 --branch "${MATHLIB_REF}" https://github.com/leanprover-community/mathlib4.git /opt/mathlib4 \
 && cd /opt/mathlib4 \
 && test "$(cat lean-toolchain)" = "leanprover/lean4:${LEAN_VERSION}" \
 && lake exe cache get \
 && lake build Mathlib \
 && rm -rf /opt/mathlib4/.git

# `lean-repl`: the REPL with Mathlib on its search path, fixed at build time, so nothing runs lake or elan
# (which may want to write) in the read-only container at check time.
RUN cd /opt/mathlib4 \
 && lean_path="$(lake env printenv LEAN_PATH)" && sysroot="$(lean --print-prefix)" \
 && test -n "$lean_path" && test -d "$sysroot" \
 && printf '#!/bin/sh\n# Lean REPL with Mathlib on its path (built by containers/lean.Dockerfile)\nexport LEAN_PATH=%s\nexport LEAN_SYSROOT=%s\ncd /opt/mathlib4 || exit 97\nexec /opt/repl/.lake/build/bin/repl "$@"\n' \
      "$lean_path" "$sysroot" > /usr/local/bin/lean-repl \
 && chmod 0755 /usr/local/bin/lean-repl

# A smoke test at build time: the REPL imports Mathlib and answers (the header proofsmith's pool reuses).
RUN printf '{"cmd": "import Mathlib\\ntheorem t : (2 : Nat) + 2 = 4 := by norm_num"}\n\n' \
    | lean-repl | tee /tmp/smoke.json \
 && grep -q '"env": 0' /tmp/smoke.json && ! grep -q '"severity": "error"' /tmp/smoke.json && rm /tmp/smoke.json

# Read-only for everyone; checks run as uid 65534 with a tmpfs /work (the docker sandbox mounts it).
RUN chmod -R a+rX /opt/elan /opt/repl /opt/mathlib4 && mkdir -p /work && chown 65534:65534 /work

# What proofsmith's Lean checker starts inside the container (lean.py: the docker path).
ENV PROOFSMITH_LEAN_REPL=/usr/local/bin/lean-repl
USER 65534:65534
WORKDIR /work
CMD ["lean", "--version"]
