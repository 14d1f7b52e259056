# The image the docker sandbox runs Python checks in (set PROOFSMITH_DOCKER_IMAGE to its tag).
# The sandbox needs sh, head and tar in the image: it unpacks each run's files with them.
ARG BASE=python:3.11-slim
FROM ${BASE}

# Nothing is installed with pip here; if a judge ever needs a package, keep its cache out of the image.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8

# The sandbox mounts a tmpfs on /work; owning the directory keeps the image usable by hand too.
RUN mkdir -p /work && chown 65534:65534 /work

USER 65534:65534
WORKDIR /work
CMD ["python3"]
