# arm-kb in a small image: the web page and JSON API by default, the command line too.
#   docker build -t arm-kb .
#   docker run --rm -p 8080:8080 arm-kb
#   docker run --rm -v "$PWD:/work" -w /work arm-kb match build.log
# The server keeps no state: run as many replicas as needed behind a load balancer.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/arm-kb /usr/local/bin/arm-kb
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/arm-kb"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
