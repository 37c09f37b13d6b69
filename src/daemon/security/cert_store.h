// Client certificate stores for IBackgroundCopyJobHttpOptions. On Linux a certificate store
// is a directory of files, each a PEM file holding a certificate and its private key (or
// with the key in "<name>.key" beside it) or a PKCS#12 file (.p12/.pfx) without a password:
//   CURRENT_USER, CURRENT_USER_GROUP_POLICY  -> <user dir>/<store>   (default
//                                               "%h/.config/openbits/certs", %h = home)
//   every other location                     -> <machine dir>/<store> ("/etc/openbits/certs")
// Every read happens with the job owner's file-system credentials, so a user can use only
// the certificates and keys they could read themselves. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

struct CertStoreDirs {
  std::string machine = "/etc/openbits/certs";
  std::string user = "%h/.config/openbits/certs";  // %h: the owner's home, %u: the uid
};

// What a TLS handshake needs: the certificate and key in PEM (wipe key_pem after use).
struct CertificateMaterial {
  ClientCertificate info;
  std::string cert_pem;
  std::string key_pem;
};

// The directory of a store: E_NOTIMPL for an unknown location, BG_E_STRING_TOO_LONG for a
// store name over 255 characters, E_INVALIDARG for a name that is empty or not a single
// path component.
Result<std::string> cert_store_directory(const CertStoreDirs& dirs, CertStoreLocation location,
                                         const std::string& store_name, uid_t owner_uid);

// Finds, as `owner`, the first certificate (in file-name order) that has its private key and
// whose SHA-1 equals `hash`, or (without a hash) whose one-line subject contains `subject`
// case-insensitively. Errors: the store directory is missing -> 0x80070002; it or the file
// cannot be read -> E_ACCESSDENIED; nothing matches -> CRYPT_E_NOT_FOUND.
Result<CertificateMaterial> find_client_certificate(
    const Credentials& owner, const std::string& directory, CertStoreLocation location,
    const std::string& store_name, const std::optional<std::array<std::uint8_t, 20>>& hash,
    const std::optional<std::string>& subject);

}  // namespace openbits::daemon
