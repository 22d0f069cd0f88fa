# sources of adapters/http: what the HTTP adapters (Loki, OTLP) share around
# libcurl. Included by each of them; the top level drops the duplicates.
find_package(CURL REQUIRED)
list(APPEND SL_SOURCES adapters/http/curl_util.c)
list(APPEND SL_LINK_LIBS CURL::libcurl)
list(APPEND SL_FIND_DEPENDENCIES CURL)
list(APPEND SL_PC_REQUIRES libcurl)
