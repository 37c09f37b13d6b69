// The wire format between peers (docs/peer-caching.md, "The protocol between peers"): the
// content path, the key's form, Repr-Digest (RFC 9530) of a SHA-256, a single byte range,
// and the discovery datagrams. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace openbits::daemon::peer {

inline constexpr std::string_view kContentPrefix = "/openbits-peer/v1/content/";

// 64 lower-case hex digits: the only form a key may take on the wire.
bool is_wire_key(std::string_view key);
// The key of a request target "/openbits-peer/v1/content/<key>"; nullopt for any other
// target (a query string, another path, a key of another form).
std::optional<std::string> key_of_target(std::string_view target);

// "sha-256=:<base64>:" of a SHA-256 given in hex; "" when `sha256_hex` is not 64 hex digits.
std::string repr_digest(std::string_view sha256_hex);
// (A Repr-Digest field is read back with transfer_detail::sha256_of_digest, the parser of
// the origin's digests: src/daemon/transfer/http_headers.h.)

// The one range of a "Range: bytes=…" field against a content of `size` bytes.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
enum class RangeKind {
  kWhole,          // no Range, or one the server ignores (not bytes=, several ranges, malformed)
  kPart,           // one satisfiable range
  kUnsatisfiable,  // 416
};
struct RangeRequest {
  RangeKind kind = RangeKind::kWhole;
  ByteRange range;
};
RangeRequest parse_range(std::string_view field, std::uint64_t size);

// Discovery datagrams: {"v":1,"t":"announce","port":P} and {"v":1,"t":"query"}.
struct Datagram {
  enum class Type { kAnnounce, kQuery };
  Type type = Type::kQuery;
  unsigned port = 0;  // announce: the sender's peer server port
};
inline constexpr std::size_t kMaxDatagram = 512;
std::string announce_datagram(unsigned port);
std::string query_datagram();
// nullopt for anything else: not JSON, another version, an unknown type, a bad port,
// longer than kMaxDatagram. Other members are ignored (later versions may add some).
std::optional<Datagram> parse_datagram(std::string_view bytes);

}  // namespace openbits::daemon::peer
