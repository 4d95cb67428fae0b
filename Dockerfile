# syntax=docker/dockerfile:1
# Otchatsa worker (Telegram, Discord, web page) in a container. See README.md, "Deployment".
#
#   docker build -t otchatsa .
#   docker run --read-only --tmpfs /tmp:size=16m,mode=1777 \
#     -v otchatsa-state:/var/lib/otchatsa -v "$PWD/index/kfashion:/index:ro" \
#     --env-file otchatsa.env -p 127.0.0.1:8080:8080 otchatsa

# ---- build: the SDK restores and publishes the worker and the CLI (for 'otchatsa index build' in the image) ----
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first, so the NuGet restore layer is reused while only sources change.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Otchatsa.Engine/Otchatsa.Engine.csproj src/Otchatsa.Engine/
COPY src/Otchatsa.Chat/Otchatsa.Chat.csproj src/Otchatsa.Chat/
COPY src/Otchatsa.Indexing/Otchatsa.Indexing.csproj src/Otchatsa.Indexing/
COPY src/Otchatsa.Training/Otchatsa.Training.csproj src/Otchatsa.Training/
COPY src/Otchatsa.Web/Otchatsa.Web.csproj src/Otchatsa.Web/
COPY src/Otchatsa.Discord/Otchatsa.Discord.csproj src/Otchatsa.Discord/
COPY src/Otchatsa.Bot/Otchatsa.Bot.csproj src/Otchatsa.Bot/
COPY src/Otchatsa.Cli/Otchatsa.Cli.csproj src/Otchatsa.Cli/
RUN dotnet restore src/Otchatsa.Bot/Otchatsa.Bot.csproj \
 && dotnet restore src/Otchatsa.Cli/Otchatsa.Cli.csproj
COPY src/ src/
COPY models/ models/
RUN dotnet publish src/Otchatsa.Bot/Otchatsa.Bot.csproj -c Release --no-restore -o /out/bot \
 && dotnet publish src/Otchatsa.Cli/Otchatsa.Cli.csproj -c Release --no-restore -o /out/cli

# ---- runtime: ASP.NET Core runtime only, no SDK, no compilers ----
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build --chown=root:root /out/bot/ /app/bot/
COPY --from=build --chown=root:root /out/cli/ /app/cli/
# MALLOC_MMAP_THRESHOLD_: native blocks over 128 KB (decoded photos, model buffers) are mapped and unmapped on their
# own instead of being kept in glibc's per-thread arenas; see docs/web.md for what it does to peak memory.
# OTCHATSA_MODEL_CACHE: the int8 ResNet18 rebuilt from its card on first use (about 1 s, ~0.2 GB transient) is kept
# in the state volume, so a --read-only container builds it once per volume, not at every start.
# The two writable places: the state volume (SQLite job queue, polling offset), owned by the service user, and the
# index volume, mounted read-only. Everything else is meant to run with --read-only.
RUN mkdir -p /var/lib/otchatsa /index \
 && chown 1654:1654 /var/lib/otchatsa \
 && chmod 0700 /var/lib/otchatsa \
 && ln -s /app/cli/otchatsa /usr/local/bin/otchatsa
VOLUME ["/var/lib/otchatsa", "/index"]
ENV Otchatsa__IndexPath=/index \
    Otchatsa__StatePath=/var/lib/otchatsa/otchatsa-bot.db \
    OTCHATSA_MODEL_CACHE=/var/lib/otchatsa/model-cache \
    Web__Enabled=true \
    Web__Urls=http://0.0.0.0:8080 \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_NOLOGO=1 \
    MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 8080
# The base image's unprivileged 'app' user (uid 1654), never root.
USER 1654:1654
# 200 once the models and the index are loaded. The runtime image has bash but no curl, so the probe speaks HTTP itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bot/Otchatsa.Bot"]
