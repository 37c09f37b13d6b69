// AES-256-GCM sealing of secrets at rest; see secret_box.h.
#include "src/daemon/security/secret_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "src/common/unique_fd.h"

namespace openbits::daemon {
namespace {

constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Status key_file_error(const std::string& path, const std::string& what) {
  return Status(hr::BG_E_DATABASE_CORRUPT,
                "secrets key " + path + ": " + what +
                    ". bitsd keeps it beside its job store to decrypt stored credentials; "
                    "restore it from a backup, or move the job store aside to start empty.");
}

Result<SecretBox> read_key(UniqueFd fd, const std::string& path) {
  std::array<std::uint8_t, SecretBox::kKeyBytes + 1> buffer{};
  ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  int err = errno;
  fd.reset();
  if (n < 0) return key_file_error(path, std::string("cannot read: ") + std::strerror(err));
  if (static_cast<std::size_t>(n) != SecretBox::kKeyBytes) {
    return key_file_error(path, "it does not hold exactly 32 bytes");
  }
  std::array<std::uint8_t, SecretBox::kKeyBytes> key{};
  std::memcpy(key.data(), buffer.data(), key.size());
  OPENSSL_cleanse(buffer.data(), buffer.size());
  SecretBox box(key);
  OPENSSL_cleanse(key.data(), key.size());
  return box;
}

Result<SecretBox> create_key(const std::string& path) {
  std::array<std::uint8_t, SecretBox::kKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return key_file_error(path, "no random bytes for a new key");
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return key_file_error(path, std::string("cannot create: ") + std::strerror(errno));
  }
  bool written = ::write(fd.get(), key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                 ::fsync(fd.get()) == 0;
  int err = errno;
  fd.reset();
  if (!written) {
    ::unlink(path.c_str());
    return key_file_error(path, std::string("cannot write: ") + std::strerror(err));
  }
  SecretBox box(key);
  OPENSSL_cleanse(key.data(), key.size());
  return box;
}

}  // namespace

Result<SecretBox> SecretBox::load_or_create(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.valid()) return read_key(std::move(fd), path);
  if (errno != ENOENT) {
    return key_file_error(path, std::string("cannot open: ") + std::strerror(errno));
  }
  return create_key(path);
}

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string SecretBox::seal(std::string_view plaintext, std::string_view context) const {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  unsigned char* nonce = bytes(out);
  unsigned char* body = nonce + kNonceBytes;
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  bool ok =
      ctx && RAND_bytes(nonce, kNonceBytes) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), body, &length, bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), body + length, &length) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, body + plaintext.size()) == 1;
  if (!ok) out.clear();  // never store a secret unsealed
  return out;
}

Result<std::string> SecretBox::open(std::string_view sealed, std::string_view context) const {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return Status(hr::BG_E_DATABASE_CORRUPT, "a sealed secret is too short");
  }
  std::size_t size = sealed.size() - kNonceBytes - kTagBytes;
  const unsigned char* nonce = bytes(sealed);
  const unsigned char* body = nonce + kNonceBytes;
  std::string tag(sealed.substr(kNonceBytes + size));
  std::string out(size, '\0');
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &length, bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), bytes(out), &length, body, static_cast<int>(size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, bytes(tag)) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), bytes(out) + length, &length) == 1;
  if (!ok) {
    wipe(out);
    return Status(hr::BG_E_DATABASE_CORRUPT,
                  "a stored secret does not decrypt with this secrets key");
  }
  return out;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace openbits::daemon
