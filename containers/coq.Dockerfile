# The image the Coq checker runs in (`--sandbox docker`, PROOFSMITH_DOCKER_IMAGE=proofsmith/coq:8.16.1).
# The same Coq as proofsmith's build machines: Debian bookworm's coq 8.16.1 and its libraries, versions pinned.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

ARG COQ_DEB=8.16.1+dfsg-1+b2
ARG MATHCOMP_DEB=1.15.0-1+b4

RUN apt-get update \
 && apt-get install -y --no-install-recommends "coq=${COQ_DEB}" "libcoq-stdlib=${COQ_DEB}" \
      "libcoq-mathcomp-ssreflect=${MATHCOMP_DEB}" \
 && rm -rf /var/lib/apt/lists/* \
 && coqc --version

RUN mkdir -p /work && chown 65534:65534 /work
ENV LANG=C.UTF-8
USER 65534:65534
WORKDIR /work
CMD ["coqc", "--version"]
