// PeerClient: asks another host's peer server (peer_server.h) for a content, over mutual
// TLS with this host's certificate and the fleet CA as the only trust anchor. Blocking
// (libcurl easy, one connection per call); thread-safe (calls share nothing).
//
// Names: the peer's certificate must chain to the fleet CA and be valid now; its name is
// NOT matched against the address dialled (CA-only trust). The subject it presented is
// returned, and is what /peers /list shows. docs/peer-caching.md ("Trust model") says why:
// peers are found by address (discovery gives IPs), any fleet certificate may serve
// anything, and what a peer sends is checked by digest or validation, not by its name.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "src/daemon/peer/peer_tls.h"

namespace openbits::daemon {

enum class PeerError {
  kNone,
  kTls,             // the handshake failed (refused our certificate, no common protocol...)
  kBadCertificate,  // the peer's certificate is not from the fleet CA, expired, or unusable
  kUnreachable,     // no connection (refused, no route, the name does not resolve)
  kTimeout,
  kBusy,          // 503: all its turns taken
  kProtocol,      // an answer that is not the protocol's (other status, missing headers, too long)
  kWrongContent,  // not from the client: the content it sent failed the origin's digest
};
const char* to_string(PeerError error);

struct PeerAnswer {
  enum class Outcome { kHit, kMiss, kError };
  Outcome outcome = Outcome::kError;
  PeerError error = PeerError::kNone;
  std::string detail;      // for logs: curl's message or the status
  std::string subject;     // the peer's certificate subject (RFC 2253) once the handshake passed
  unsigned status = 0;     // HTTP status, 0 without an answer
  std::uint64_t size = 0;  // HEAD hit: the content's size
  std::string sha256;      // HEAD hit: its Repr-Digest as hex ("" when it sent none)
  std::string bytes;       // get_range: the body
};

struct PeerClientOptions {
  PeerTlsFiles tls;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{15000};
};

class PeerClient {
 public:
  explicit PeerClient(PeerClientOptions options) : options_(std::move(options)) {}

  // HEAD of `key` at `address` ("host:port", "[v6]:port"): kHit with size and SHA-256,
  // kMiss (404), or kError.
  PeerAnswer head(const std::string& address, const std::string& key) const;
  // GET of bytes [first, first + length): kHit with exactly those bytes (a 206 whose
  // Content-Range matches), kMiss (404 or 416), or kError; more bytes than asked is an
  // error (kProtocol), and nothing past `length` is kept.
  PeerAnswer get_range(const std::string& address, const std::string& key, std::uint64_t first,
                       std::uint64_t length) const;

 private:
  PeerClientOptions options_;
};

}  // namespace openbits::daemon
