# geogaps API image. UNTESTED here (no Docker engine on the build machine).
# Schema migrations are NOT run by this image's default command: run `geogaps db upgrade` first
# (docker-compose.yml has a `migrate` service for that). The API key is read from the
# environment (GEOGAPS_API_KEY) at run time; nothing secret is baked into the image.
FROM python:3.11-slim-bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libexpat1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY domain domain
COPY geo_service geo_service
COPY layers layers
COPY analysis analysis
COPY maps maps
RUN pip install --no-cache-dir -c constraints.txt .
RUN useradd --create-home geogaps
USER geogaps
ENV GEOGAPS_STORE_DIR=/home/geogaps/store
EXPOSE 8000
# Inside the container the server listens on every interface of the container only; which
# host address publishes it is docker-compose's choice (127.0.0.1 by default).
CMD ["geogaps", "serve", "--host", "0.0.0.0", "--port", "8000"]
