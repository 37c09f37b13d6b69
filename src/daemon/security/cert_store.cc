// Client certificate stores as directories of PEM and PKCS#12 files; see cert_store.h.
#include "src/daemon/security/cert_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "src/common/unique_fd.h"
#include "src/daemon/security/secret_box.h"
#include "src/daemon/security/user_open.h"

namespace openbits::daemon {
namespace {

constexpr std::size_t kMaxStoreFile = 1 << 20;
constexpr std::size_t kMaxStoreFiles = 256;  // a store is searched this far, no further
// PKCS#12 files with more MAC iterations than this are skipped: the count is the file's
// to choose, and each iteration costs bitsd time (common tools write 2,048).
constexpr long kMaxPkcs12Iterations = 100000;

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

struct Entry {
  X509Ptr cert{nullptr, X509_free};
  KeyPtr key{nullptr, EVP_PKEY_free};
};

std::string home_of(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found) {
    return pw.pw_dir;
  }
  return "/nonexistent";
}

bool ends_with(const std::string& name, const char* suffix) {
  std::size_t n = std::char_traits<char>::length(suffix);
  return name.size() > n && strcasecmp(name.c_str() + name.size() - n, suffix) == 0;
}

// Reads a regular file below `dir_fd` (no symlink followed); nullopt if unreadable, with
// `denied` set when the owner lacks the right to read it.
std::optional<std::string> read_small_file(int dir_fd, const std::string& name, bool& denied) {
  RegularFile file = open_regular_file(dir_fd, name, O_NOFOLLOW);
  if (file.fd < 0) {
    denied = denied || file.error == EACCES || file.error == EPERM;
    return std::nullopt;
  }
  UniqueFd fd(file.fd);
  struct stat st {};
  std::string data;
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::size_t>(st.st_size) <= kMaxStoreFile) {
    data.resize(static_cast<std::size_t>(st.st_size));
    ssize_t n = ::read(fd.get(), data.data(), data.size());
    data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  return data;
}

Entry parse_pkcs12(const std::string& data) {
  Entry entry;
  Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), BIO_free);
  PKCS12* p12 = bio ? d2i_PKCS12_bio(bio.get(), nullptr) : nullptr;
  if (!p12) return entry;
  const ASN1_INTEGER* iterations = nullptr;
  PKCS12_get0_mac(nullptr, nullptr, nullptr, &iterations, p12);
  if (iterations && ASN1_INTEGER_get(iterations) > kMaxPkcs12Iterations) {
    PKCS12_free(p12);
    return entry;
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  if (PKCS12_parse(p12, "", &key, &cert, nullptr) != 1 &&
      PKCS12_parse(p12, nullptr, &key, &cert, nullptr) != 1) {
    key = nullptr;
    cert = nullptr;
  }
  PKCS12_free(p12);
  entry.cert.reset(cert);
  entry.key.reset(key);
  return entry;
}

Entry parse_pem(const std::string& data, const std::optional<std::string>& key_file) {
  Entry entry;
  Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), BIO_free);
  if (!bio) return entry;
  entry.cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  const std::string& key_text = key_file ? *key_file : data;
  Bio key_bio(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())), BIO_free);
  if (key_bio) {
    entry.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  }
  return entry;
}

std::string one_line_subject(X509* cert) {
  Bio out(BIO_new(BIO_s_mem()), BIO_free);
  if (!out) return {};
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  long n = BIO_get_mem_data(out.get(), &text);
  return n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string();
}

bool contains_ignoring_case(const std::string& haystack, const std::string& needle) {
  auto it = std::search(
      haystack.begin(), haystack.end(), needle.begin(), needle.end(),
      [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); });
  return !needle.empty() && it != haystack.end();
}

std::string pem_of(const Entry& entry, bool key) {
  Bio out(BIO_new(BIO_s_mem()), BIO_free);
  if (!out) return {};
  int ok = key ? PEM_write_bio_PrivateKey(out.get(), entry.key.get(), nullptr, nullptr, 0, nullptr,
                                          nullptr)
               : PEM_write_bio_X509(out.get(), entry.cert.get());
  char* text = nullptr;
  long n = BIO_get_mem_data(out.get(), &text);
  std::string pem = ok == 1 && n > 0 ? std::string(text, static_cast<std::size_t>(n)) : "";
  if (n > 0) OPENSSL_cleanse(text, static_cast<std::size_t>(n));
  return pem;
}

// Parses one store file; an entry without both a certificate and its key is empty.
Entry read_entry(int dir_fd, const std::string& name, bool& denied) {
  Entry entry;
  auto data = read_small_file(dir_fd, name, denied);
  if (!data) return entry;
  if (ends_with(name, ".p12") || ends_with(name, ".pfx")) {
    entry = parse_pkcs12(*data);
  } else if (ends_with(name, ".pem") || ends_with(name, ".crt")) {
    std::optional<std::string> key_file;
    if (data->find("PRIVATE KEY-----") == std::string::npos) {
      key_file = read_small_file(dir_fd, name.substr(0, name.rfind('.')) + ".key", denied);
    }
    entry = parse_pem(*data, key_file);
    if (key_file) wipe(*key_file);
  }
  wipe(*data);
  if (!entry.cert || !entry.key || X509_check_private_key(entry.cert.get(), entry.key.get()) != 1) {
    return Entry{};
  }
  return entry;
}

std::vector<std::string> list_names(int dir_fd) {
  std::vector<std::string> names;
  UniqueFd copy(::dup(dir_fd));
  DIR* dir = copy.valid() ? ::fdopendir(copy.get()) : nullptr;
  if (!dir) return names;
  (void)copy.release();  // closedir closes it
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.' && names.size() < kMaxStoreFiles) names.emplace_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<std::string> cert_store_directory(const CertStoreDirs& dirs, CertStoreLocation location,
                                         const std::string& store_name, uid_t owner_uid) {
  auto value = static_cast<int>(location);
  if (value < 0 || value > static_cast<int>(CertStoreLocation::kLocalMachineEnterprise)) {
    return Status(hr::E_NOTIMPL, "unknown certificate store location");
  }
  if (store_name.size() > kMaxCertStoreName) return Status(hr::BG_E_STRING_TOO_LONG);
  if (store_name.empty() || store_name == "." || store_name == ".." ||
      store_name.find('/') != std::string::npos || store_name.find('\0') != std::string::npos) {
    return Status(hr::E_INVALIDARG, "a store name is one directory name");
  }
  bool user = location == CertStoreLocation::kCurrentUser ||
              location == CertStoreLocation::kCurrentUserGroupPolicy;
  std::string base = user ? dirs.user : dirs.machine;
  for (std::size_t at = base.find('%'); at != std::string::npos; at = base.find('%', at)) {
    std::string with = at + 1 < base.size() && base[at + 1] == 'h'   ? home_of(owner_uid)
                       : at + 1 < base.size() && base[at + 1] == 'u' ? std::to_string(owner_uid)
                                                                     : "%";
    base.replace(at, 2, with);
    at += with.size();
  }
  return base + "/" + store_name;
}

Result<CertificateMaterial> find_client_certificate(
    const Credentials& owner, const std::string& directory, CertStoreLocation location,
    const std::string& store_name, const std::optional<std::array<std::uint8_t, 20>>& hash,
    const std::optional<std::string>& subject) {
  ScopedFsCredentials as_owner(owner);
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  UniqueFd dir_fd(open_user_path(directory, O_RDONLY | O_DIRECTORY));
  if (!dir_fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status(hr::FILE_NOT_FOUND, "no certificate store " + directory);
    }
    return Status(hr::E_ACCESSDENIED, "cannot read the certificate store " + directory);
  }
  std::optional<CertificateMaterial> found;
  bool denied = false;
  for (const std::string& name : list_names(dir_fd.get())) {
    Entry entry = read_entry(dir_fd.get(), name, denied);
    if (!entry.cert) continue;
    std::array<std::uint8_t, 20> digest{};
    unsigned int length = 0;
    X509_digest(entry.cert.get(), EVP_sha1(), digest.data(), &length);
    std::string line = one_line_subject(entry.cert.get());
    bool match = hash ? digest == *hash : contains_ignoring_case(line, subject.value_or(""));
    if (!match) continue;
    found = CertificateMaterial{
        {location, store_name, digest, line}, pem_of(entry, false), pem_of(entry, true)};
    break;
  }
  if (!found && denied) {
    return Status(hr::E_ACCESSDENIED, "the job owner cannot read every file of " + directory);
  }
  if (!found) return Status(hr::CRYPT_E_NOT_FOUND, "no matching certificate in " + directory);
  return std::move(*found);
}

}  // namespace openbits::daemon
