// libFuzzer target: validation of remote names, local names, headers, methods, ranges and
// proxy/bypass lists (the first line of the input is the list, the rest the bypass list).
// Nothing may crash; accepted local names must be absolute and normalised.
#include <cstring>
#include <string>
#include <vector>

#include "src/daemon/core/validation.h"
#include "src/daemon/transfer/proxy_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace openbits;
  using namespace openbits::daemon;
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)validate_remote_name(text);
  if (validate_local_name(text).ok()) {
    if (text.empty() || text.front() != '/' || text.find("/../") != std::string::npos ||
        text.find("//") != std::string::npos) {
      __builtin_trap();
    }
    (void)parent_directory(text);
  }
  (void)validate_custom_headers(text);
  (void)validate_http_method(text);
  std::vector<FileRange> ranges;
  for (std::size_t i = 0; i + 16 <= size; i += 16) {
    FileRange r;
    std::memcpy(&r.initial_offset, data + i, 8);
    std::memcpy(&r.length, data + i + 8, 8);
    ranges.push_back(r);
  }
  (void)validate_ranges(ranges, 500);
  // SetProxySettings lists, checked at transfer time: a list check_proxy_lists accepts
  // never makes decide_proxy fail, and the proxy chosen is an http(s) URL or direct.
  std::size_t split = text.find('\n');
  std::string list = text.substr(0, split);
  std::string bypass = split == std::string::npos ? std::string() : text.substr(split + 1);
  ProxyContext context;
  context.settings = {ProxyUsage::kOverride, list, bypass};
  bool valid = check_proxy_lists(list, bypass).ok();
  for (const char* url : {"http://origin.example/f", "https://[::1]:8443/f", "http://intranet/"}) {
    auto decision = decide_proxy(context, url);
    bool any_entry = list.find_first_not_of(" ;\t") != std::string::npos;
    if (valid && any_entry && !decision.ok()) __builtin_trap();
    if (decision.ok() && !decision->proxy.empty() && decision->proxy.rfind("http://", 0) != 0 &&
        decision->proxy.rfind("https://", 0) != 0) {
      __builtin_trap();
    }
  }
  return 0;
}
