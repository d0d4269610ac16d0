FROM python:3.11-slim-bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libexpat1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY geo_service geo_service
COPY layers layers
COPY analysis analysis
COPY maps maps
RUN pip install --no-cache-dir .
RUN useradd --create-home geogaps
USER geogaps
EXPOSE 8000
CMD ["geogaps", "serve", "--host", "0.0.0.0", "--port", "8000"]
