// The TLS side of peer caching (docs/peer-caching.md, "Trust model"): the fleet CA and this
// host's certificate and key from the config, checked at start-up, and the server context
// that requires a client certificate issued by that CA (TLS 1.2 or later; expired, not yet
// valid or wrongly purposed certificates fail the handshake).
#pragma once

#include <memory>
#include <string>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/daemon/platform/config.h"

namespace boost::asio::ssl {
class context;
}

namespace openbits::daemon {

struct PeerTlsFiles {
  std::string ca_file;    // peer_ca_file
  std::string cert_file;  // peer_cert_file
  std::string key_file;   // peer_key_file
  static PeerTlsFiles from(const Config& config);
};

// Each file loads, the certificate is issued by the CA and valid now, and the key is its
// key; else E_INVALIDARG whose message names the config key and says what is wrong.
Status check_peer_tls_files(const PeerTlsFiles& files);

// The peer server's context (files checked as above).
Result<std::unique_ptr<boost::asio::ssl::context>> make_peer_server_tls(const PeerTlsFiles& files);

// The subject (RFC 2253) of the certificate in a PEM file; "" when it cannot be read.
std::string certificate_subject(const std::string& pem_file);

}  // namespace openbits::daemon
