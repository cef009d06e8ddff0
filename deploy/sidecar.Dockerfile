# The sidecar's image, from the static binary `go tool mage build` puts in
# bin/. Build context: bin/. FROM scratch needs no registry.
#   docker build -f deploy/sidecar.Dockerfile -t vertice/sidecar bin/
# It differs from deploy/Dockerfile only in its healthcheck: the sidecar is
# healthy once the registry holds its instance, which may take the whole
# INITIAL_WAIT_TIMEOUT (60 s) plus the first registration, hence the long
# start period.
FROM scratch
COPY vertice-sidecar /vertice
# nobody: the sidecar needs no privileges; its status server is on :9100.
USER 65534:65534
EXPOSE 9100
ENTRYPOINT ["/vertice"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 CMD ["/vertice", "-healthcheck"]
