# The image the F* checker runs in (`--sandbox docker`, PROOFSMITH_FSTAR_IMAGE=proofsmith/fstar:2024.09.05).
# A pinned F* binary release and the Z3 version F* expects (4.8.5), on PATH as `z3` and `z3-4.8.5`.
# Everything is fetched at build time; a check runs with no network.
# NOT built on proofsmith's build machines (no GitHub there): see containers/README.md.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

ARG FSTAR_VERSION=v2024.09.05
ARG Z3_VERSION=4.8.5
ARG Z3_ASSET=z3-4.8.5-x64-ubuntu-16.04

ENV PATH=/opt/fstar/bin:/usr/local/bin:/usr/bin:/bin \
    LANG=C.UTF-8

SHELL ["/bin/bash", "-euo", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl unzip libgomp1 \
 && rm -rf /var/lib/apt/lists/*

RUN curl -sSfL "https://github.com/FStarLang/FStar/releases/download/${FSTAR_VERSION}/fstar-${FSTAR_VERSION}-Linux-x86_64.tar.gz" \
      -o /tmp/fstar.tar.gz \
 && mkdir -p /opt/fstar && tar -xzf /tmp/fstar.tar.gz -C /opt/fstar --strip-components=1 && rm /tmp/fstar.tar.gz \
 && test -x /opt/fstar/bin/fstar.exe

RUN curl -sSfL "https://github.com/Z3Prover/z3/releases/download/Z3-${Z3_VERSION}/${Z3_ASSET}.zip" -o /tmp/z3.zip \
 && unzip -q /tmp/z3.zip -d /tmp/z3 && install -m 0755 "/tmp/z3/${Z3_ASSET}/bin/z3" /usr/local/bin/z3-${Z3_VERSION} \
 && ln -sf /usr/local/bin/z3-${Z3_VERSION} /usr/local/bin/z3 && rm -rf /tmp/z3 /tmp/z3.zip \
 && z3 --version

# A smoke test at build time: the IDE protocol answers a push of a small lemma without Warning 335.
RUN mkdir -p /tmp/smoke && cd /tmp/smoke && printf 'module Smoke\n' > Smoke.fst \
 && printf '%s\n' '{"query-id":"1","query":"push","args":{"kind":"full","code":"module Smoke\nlet f (x:nat) : Lemma (x + 0 == x) = ()\n","line":1,"column":0}}' \
    | fstar.exe --ide Smoke.fst --report_assumes warn | tee out.json \
 && grep -q '"status":"success"' out.json && ! grep -q '"number":335' out.json && cd / && rm -rf /tmp/smoke

RUN chmod -R a+rX /opt/fstar && mkdir -p /work && chown 65534:65534 /work

ENV PROOFSMITH_FSTAR=/opt/fstar/bin/fstar.exe
USER 65534:65534
WORKDIR /work
CMD ["fstar.exe", "--version"]
