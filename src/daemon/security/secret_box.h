// SecretBox: authenticated encryption (AES-256-GCM, OpenSSL) of the secrets bitsd keeps at
// rest: SetCredentials passwords and custom headers. The 32-byte key lives in its own file
// beside the store (`secrets.key`, mode 0600, owned by the daemon's user), created on first
// use; a copy of the database alone reveals nothing. Each sealed value binds a context
// string (the job and the slot it belongs to), so a sealed value moved to another row does
// not open. Thread-safe after construction (the key is immutable).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "openbits/status.h"

namespace openbits::daemon {

class SecretBox {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // Reads the key from `path`, or creates the file (O_EXCL, 0600) with a fresh random key
  // when it does not exist. An error names the file when it cannot be read or created, or
  // holds anything but exactly 32 bytes.
  static Result<SecretBox> load_or_create(const std::string& path);
  explicit SecretBox(const std::array<std::uint8_t, kKeyBytes>& key) : key_(key) {}
  ~SecretBox();
  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;

  // nonce (12) | ciphertext | tag (16); `context` is authenticated, not stored.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // The plaintext, or an error when the value was not sealed with this key and context.
  Result<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  std::array<std::uint8_t, kKeyBytes> key_{};
};

// Overwrites a string's bytes before it is released (passwords in memory).
void wipe(std::string& secret);

}  // namespace openbits::daemon
