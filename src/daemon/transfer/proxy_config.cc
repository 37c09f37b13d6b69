// Proxy choice per URL; see proxy_config.h.
#include "src/daemon/transfer/proxy_config.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <optional>

namespace openbits::daemon {
namespace {

struct ProxyEntry {
  std::string for_scheme;  // "http", "https" or "" (every other)
  std::string proxy;       // "http://host:port"
};

Status invalid(const std::string& what) { return Status(hr::BG_E_INVALID_PROXY_INFO, what); }

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < list.size()) {
    std::size_t end = list.find_first_of(" ;\t", start);
    if (end == std::string::npos) end = list.size();
    if (end > start) items.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool valid_port(const std::string& port) {
  return !port.empty() && port.size() <= 5 &&
         port.find_first_not_of("0123456789") == std::string::npos && std::stoul(port) >= 1 &&
         std::stoul(port) <= 65535;
}

// "host", "host:port", "[v6]" or "[v6]:port".
bool valid_host_port(const std::string& text) {
  std::string host = text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return false;
    return !host.empty() && host.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
  }
  if (std::size_t colon = text.rfind(':'); colon != std::string::npos) {
    if (!valid_port(text.substr(colon + 1))) return false;
    host = text.substr(0, colon);
  }
  return !host.empty() && host.find_first_of("/@?#*<>\"\\:[]") == std::string::npos;
}

Result<ProxyEntry> parse_entry(const std::string& item) {
  ProxyEntry entry;
  std::string rest = item;
  if (std::size_t eq = rest.find('='); eq != std::string::npos) {
    entry.for_scheme = lower(rest.substr(0, eq));
    if (entry.for_scheme != "http" && entry.for_scheme != "https") {
      return invalid("proxy entry '" + item + "': only http= and https= are supported");
    }
    rest = rest.substr(eq + 1);
  }
  std::string protocol = "http";
  if (std::size_t sep = rest.find("://"); sep != std::string::npos) {
    protocol = lower(rest.substr(0, sep));
    if (protocol != "http" && protocol != "https") {
      return invalid("proxy entry '" + item + "': the proxy must speak http or https");
    }
    rest = rest.substr(sep + 3);
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (!valid_host_port(rest)) return invalid("proxy entry '" + item + "' is malformed");
  entry.proxy = protocol + "://" + rest;
  return entry;
}

Status check_bypass_entry(const std::string& item) {
  if (lower(item) == "<local>") return Status();
  std::size_t star = item.rfind('*');
  if (star != std::string::npos && item.find_first_not_of('*') < star) {
    return invalid("bypass entry '" + item + "': '*' is allowed only at the start");
  }
  if (item.find_first_of("/@?#<>\"\\") != std::string::npos) {
    return invalid("bypass entry '" + item + "' is malformed");
  }
  return Status();
}

struct UrlParts {
  std::string scheme;
  std::string host;
};

UrlParts url_parts(const std::string& url) {
  UrlParts parts;
  CURLU* u = curl_url();
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* value = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &value, 0) == CURLUE_OK) parts.scheme = lower(value);
    curl_free(value);
    value = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &value, 0) == CURLUE_OK) parts.host = lower(value);
    curl_free(value);
  }
  curl_url_cleanup(u);
  if (parts.host.size() > 2 && parts.host.front() == '[') {
    parts.host = parts.host.substr(1, parts.host.size() - 2);
  }
  return parts;
}

bool bypassed(const std::vector<std::string>& bypass, const std::string& host) {
  for (const std::string& raw : bypass) {
    std::string item = lower(raw);
    if (item == "<local>") {
      if (host.find('.') == std::string::npos && host.find(':') == std::string::npos) return true;
      continue;
    }
    std::size_t stars = item.find_first_not_of('*');
    if (stars == std::string::npos) return true;  // "*": everything
    std::string suffix = item.substr(stars);
    if (stars == 0 ? host == suffix
                   : host.size() >= suffix.size() &&
                         host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

// The proxy a list gives for a URL scheme; "" when no entry serves it.
Result<std::string> pick_from_list(const std::string& list, const std::string& scheme) {
  std::optional<std::string> specific;
  std::optional<std::string> general;
  for (const std::string& item : split_list(list)) {
    auto entry = parse_entry(item);
    if (!entry.ok()) return entry.status();
    if (entry->for_scheme == scheme && !specific) specific = entry->proxy;
    if (entry->for_scheme.empty() && !general) general = entry->proxy;
  }
  if (specific) return *specific;
  return general.value_or("");
}

Result<ProxyDecision> from_lists(const std::string& list, const std::string& bypass_list,
                                 const UrlParts& url) {
  if (Status s = check_proxy_lists(list, bypass_list); !s.ok()) return s;
  if (bypassed(split_list(bypass_list), url.host)) return ProxyDecision{};
  auto proxy = pick_from_list(list, url.scheme);
  if (!proxy.ok()) return proxy.status();
  return ProxyDecision{*proxy, ""};
}

std::string env_value(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace

Status check_proxy_lists(const std::string& proxy_list, const std::string& bypass_list) {
  for (const std::string& item : split_list(proxy_list)) {
    if (auto entry = parse_entry(item); !entry.ok()) return entry.status();
  }
  for (const std::string& item : split_list(bypass_list)) {
    if (Status s = check_bypass_entry(item); !s.ok()) return s;
  }
  return Status();
}

Result<ProxyDecision> decide_proxy(const ProxyContext& context, const std::string& url,
                                   const std::vector<std::string>& autodetected) {
  UrlParts parts = url_parts(url);
  const ProxySettings& settings = context.settings;
  switch (settings.usage) {
    case ProxyUsage::kNoProxy:
      return ProxyDecision{};
    case ProxyUsage::kOverride:
      if (!settings.proxy_list || split_list(*settings.proxy_list).empty()) {
        return invalid("OVERRIDE without a proxy list");
      }
      return from_lists(*settings.proxy_list, settings.bypass_list.value_or(""), parts);
    case ProxyUsage::kAutodetect:
      for (const std::string& answer : autodetected) {
        if (answer.rfind("direct://", 0) == 0) return ProxyDecision{};
        if (answer.rfind("http://", 0) == 0 || answer.rfind("https://", 0) == 0) {
          return ProxyDecision{answer, ""};
        }
      }
      return ProxyDecision{};
    case ProxyUsage::kPreconfig:
      break;
  }
  const auto& env = context.owner_environment;
  std::string proxy = env_value(env, parts.scheme == "https" ? "https_proxy" : "http_proxy");
  if (proxy.empty()) proxy = env_value(env, "all_proxy");
  if (!proxy.empty()) return ProxyDecision{proxy, env_value(env, "no_proxy")};
  if (!context.system_proxy.empty()) {
    return from_lists(context.system_proxy, context.system_bypass, parts);
  }
  return ProxyDecision{};
}

}  // namespace openbits::daemon
