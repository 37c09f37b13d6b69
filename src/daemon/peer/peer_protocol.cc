// The wire format between peers; see peer_protocol.h.
#include "src/daemon/peer/peer_protocol.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

#include "src/common/hex.h"

namespace openbits::daemon::peer {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::uint64_t> to_number(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool is_wire_key(std::string_view key) {
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::string> key_of_target(std::string_view target) {
  if (!target.starts_with(kContentPrefix)) return std::nullopt;
  std::string_view key = target.substr(kContentPrefix.size());
  if (!is_wire_key(key)) return std::nullopt;
  return std::string(key);
}

std::string repr_digest(std::string_view sha256_hex) {
  auto bytes = hex_decode(sha256_hex);
  if (!bytes || bytes->size() != 32) return {};
  std::string out(44, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes->data(), 32);
  return "sha-256=:" + out + ":";
}

RangeRequest parse_range(std::string_view field, std::uint64_t size) {
  field = trim(field);
  if (field.size() < 6 || !iequals(field.substr(0, 6), "bytes=")) return {};
  std::string_view spec = trim(field.substr(6));
  auto dash = spec.find('-');
  if (spec.find(',') != std::string_view::npos || dash == std::string_view::npos) return {};
  std::string_view first_text = trim(spec.substr(0, dash));
  std::string_view last_text = trim(spec.substr(dash + 1));
  if (first_text.empty()) {  // bytes=-N: the last N bytes
    auto suffix = to_number(last_text);
    if (!suffix) return {};
    if (*suffix == 0 || size == 0) return {RangeKind::kUnsatisfiable, {}};
    std::uint64_t length = std::min(*suffix, size);
    return {RangeKind::kPart, {size - length, length}};
  }
  auto first = to_number(first_text);
  auto last = last_text.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : to_number(last_text);
  if (!first || !last || *last < *first) return {};
  if (*first >= size) return {RangeKind::kUnsatisfiable, {}};
  std::uint64_t end = std::min(*last, size - 1);
  return {RangeKind::kPart, {*first, end - *first + 1}};
}

std::string announce_datagram(unsigned port) {
  return nlohmann::json{{"v", 1}, {"t", "announce"}, {"port", port}}.dump();
}

std::string query_datagram() { return nlohmann::json{{"v", 1}, {"t", "query"}}.dump(); }

std::optional<Datagram> parse_datagram(std::string_view bytes) {
  if (bytes.empty() || bytes.size() > kMaxDatagram) return std::nullopt;
  auto doc = nlohmann::json::parse(bytes, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto v = doc.find("v");
  auto t = doc.find("t");
  if (v == doc.end() || !v->is_number_unsigned() || v->get<std::uint64_t>() != 1) {
    return std::nullopt;
  }
  if (t == doc.end() || !t->is_string()) return std::nullopt;
  if (t->get<std::string>() == "query") return Datagram{Datagram::Type::kQuery, 0};
  if (t->get<std::string>() != "announce") return std::nullopt;
  auto port = doc.find("port");
  if (port == doc.end() || !port->is_number_unsigned()) return std::nullopt;
  auto value = port->get<std::uint64_t>();
  if (value == 0 || value > 65535) return std::nullopt;
  return Datagram{Datagram::Type::kAnnounce, static_cast<unsigned>(value)};
}

}  // namespace openbits::daemon::peer
