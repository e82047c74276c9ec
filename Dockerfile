# arm-kb in a small image, for pipelines that run tools in containers.
#   docker build -t arm-kb .
#   docker run --rm -v "$PWD:/work" -w /work arm-kb match build.log
#   docker run --rm -v "$PWD:/work" -w /work arm-kb check --kb . --format sarif

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/arm-kb /usr/local/bin/arm-kb
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/arm-kb"]
CMD ["--help"]
