#include "src/upload_server/backend.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <memory>
#include <string_view>

namespace openbits::upload {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlFree {
  void operator()(char* text) const { curl_free(text); }
};

struct Exchange {
  const BackendRequest* request;
  BackendResult* result;
  bool write_failed = false;
};

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return true;
}

std::string header_value(std::string_view line, std::size_t name_size) {
  std::string_view value = line.substr(name_size + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  return std::string(value);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 Continue): reset
    exchange->result->static_response_url.clear();
    exchange->result->copy_to_destination = false;
  } else if (header_is(line, "BITS-Static-Response-URL")) {
    exchange->result->static_response_url =
        header_value(line, std::string_view("BITS-Static-Response-URL").size());
  } else if (header_is(line, "BITS-Copy-File-To-Destination")) {
    exchange->result->copy_to_destination = true;
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::size_t total = size * count;
  if (exchange->request->type != 2) return total;  // type 1: the reply is in the file
  std::size_t done = 0;
  while (done < total) {
    ssize_t n = ::write(exchange->request->reply_fd, data + done, total - done);
    if (n <= 0) {
      exchange->write_failed = true;
      return 0;
    }
    done += static_cast<std::size_t>(n);
  }
  return total;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  ssize_t n = ::read(exchange->request->data_fd, buffer, size * count);
  return n < 0 ? CURL_READFUNC_ABORT : static_cast<size_t>(n);
}

}  // namespace

std::string resolve_notification_url(const std::string& notification_url,
                                     const std::string& job_url, const std::string& job_query) {
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, job_url.c_str(), 0) != CURLUE_OK ||
      curl_url_set(url.get(), CURLUPART_URL, notification_url.c_str(), 0) != CURLUE_OK) {
    return {};
  }
  if (!job_query.empty() &&
      curl_url_set(url.get(), CURLUPART_QUERY, job_query.c_str(), CURLU_APPENDQUERY) != CURLUE_OK) {
    return {};
  }
  char* scheme_raw = nullptr;
  char* full_raw = nullptr;
  curl_url_get(url.get(), CURLUPART_SCHEME, &scheme_raw, 0);
  curl_url_get(url.get(), CURLUPART_URL, &full_raw, 0);
  std::unique_ptr<char, CurlFree> scheme(scheme_raw);
  std::unique_ptr<char, CurlFree> full(full_raw);
  if (!scheme || !full || std::string_view(scheme.get()) != "http") return {};
  std::string result = full.get();
  return result.size() > 2200 ? std::string() : result;
}

BackendResult notify_backend(const BackendRequest& request) {
  BackendResult result;
  std::string url =
      resolve_notification_url(request.notification_url, request.job_url, request.job_query);
  if (url.empty()) {
    result.error = "notification URL is not a valid http:// URL";
    return result;
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      static_cast<void>(headers.release());
      headers.reset(next);
    }
  };
  add_header("BITS-Original-Request-URL: " + request.job_url);
  add_header("Expect:");
  if (request.type == 1) {
    add_header("BITS-Request-DataFile-Name: " + request.data_path);
    add_header("BITS-Response-DataFile-Name: " + request.reply_path);
  }
  Exchange exchange{&request, &result};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(request.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &exchange);
  if (request.type == 2) {
    off_t size = ::lseek(request.data_fd, 0, SEEK_END);
    ::lseek(request.data_fd, 0, SEEK_SET);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &exchange);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  }
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK || exchange.write_failed) {
    result.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    result.error = exchange.write_failed ? "cannot write the reply" : curl_easy_strerror(code);
    return result;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  result.reached = true;
  return result;
}

}  // namespace openbits::upload
