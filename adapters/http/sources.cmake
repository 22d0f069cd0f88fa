# sources of adapters/http: what the HTTP adapters (Loki, OTLP) share around
# libcurl. Included by each of them; the top level drops the duplicate.
list(APPEND SL_SOURCES adapters/http/curl_util.c)
list(REMOVE_DUPLICATES SL_SOURCES)
