# arm-kb's web page and JSON API (`arm-kb serve`) in a small image.
#   docker build -t arm-kb .
#   docker run --rm -p 8080:8080 arm-kb
# The server keeps no state: run as many replicas as needed behind a load balancer.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/arm-kb

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/arm-kb /usr/local/bin/arm-kb
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/arm-kb"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
