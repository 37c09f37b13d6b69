// JobManager: SetCredentials/RemoveCredentials, client certificates and the owner's
// environment (bits-spec §1.3, §1.4, §3.6). See job_manager.h and job_credentials.h.
#include "src/daemon/core/job_credentials.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <iterator>
#include <string_view>

#include "openbits/names.h"
#include "src/common/unique_fd.h"
#include "src/common/utf8.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/security/cert_store.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/security/secret_box.h"
#include "src/daemon/transfer/negotiate.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {
namespace {

constexpr std::size_t kMaxEnviron = 1 << 20;

bool explicit_only(AuthScheme scheme) {
  return scheme == AuthScheme::kBasic || scheme == AuthScheme::kDigest ||
         scheme == AuthScheme::kPassport;
}

// Up to kMaxEnviron bytes of /proc/<pid>/environ, read as it comes (most are a few KiB:
// no buffer of the maximum size is cleared for each create).
std::string read_environ(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string all;
  if (fd.get() < 0) return all;
  constexpr std::size_t kChunk = 16384;
  while (all.size() < kMaxEnviron) {
    std::size_t used = all.size();
    all.resize(std::min(used + kChunk, kMaxEnviron));
    ssize_t n = ::read(fd.get(), all.data() + used, all.size() - used);
    if (n <= 0) {
      all.resize(used);
      break;
    }
    all.resize(used + static_cast<std::size_t>(n));
  }
  return all;
}

}  // namespace

Status validate_credentials(const AuthCredentials& c) {
  auto target = static_cast<int>(c.target);
  auto scheme = static_cast<int>(c.scheme);
  if (target < 1 || target > 2) return Status(hr::BG_E_INVALID_AUTH_TARGET);
  if (scheme < 1 || scheme > 5) return Status(hr::BG_E_INVALID_AUTH_SCHEME);
  if (c.user_name && utf8_length(*c.user_name) > kMaxUserName) {
    return Status(hr::BG_E_USERNAME_TOO_LARGE);
  }
  if (c.password && utf8_length(*c.password) > kMaxPassword) {
    return Status(hr::BG_E_PASSWORD_TOO_LARGE);
  }
  if (c.user_name.has_value() != c.password.has_value()) {
    return Status(hr::E_INVALIDARG, "give both a user name and a password, or neither");
  }
  if (!c.user_name && explicit_only(c.scheme)) {
    return Status(hr::E_INVALIDARG, to_string(c.scheme) + " needs a user name and a password");
  }
  return Status();
}

std::map<std::string, std::string> read_owner_environment(pid_t pid, uid_t uid) {
  std::map<std::string, std::string> env;
  std::string dir = "/proc/" + std::to_string(pid);
  struct stat st {};
  if (pid <= 0 || ::stat(dir.c_str(), &st) != 0 || st.st_uid != uid) return env;
  std::string all = read_environ(dir + "/environ");
  // The names kept, lower case first (the one used when a process has both).
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kKept{{
      {"http_proxy", "http_proxy"},
      {"https_proxy", "https_proxy"},
      {"all_proxy", "all_proxy"},
      {"no_proxy", "no_proxy"},
      {"KRB5CCNAME", "krb5ccname"},
      {"HTTP_PROXY", "http_proxy"},
      {"HTTPS_PROXY", "https_proxy"},
      {"ALL_PROXY", "all_proxy"},
      {"NO_PROXY", "no_proxy"},
  }};
  std::map<std::string, std::string> upper;
  std::string_view rest(all);
  while (!rest.empty()) {
    std::string_view entry = rest.substr(0, rest.find('\0'));
    rest.remove_prefix(std::min(rest.size(), entry.size() + 1));
    std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = entry.substr(0, eq);
    for (std::size_t i = 0; i < kKept.size(); ++i) {
      if (name != kKept[i].first) continue;
      auto& into = i < 5 ? env : upper;
      into[std::string(kKept[i].second)] = std::string(entry.substr(eq + 1));
    }
  }
  for (auto& [name, value] : upper) env.emplace(name, value);  // lower case wins
  return env;
}

void JobManager::wipe_secrets(JobRecord& job) {
  bool had = !job.credentials.empty();
  for (CredentialRecord& c : job.credentials) {
    if (c.password) wipe(*c.password);
  }
  job.credentials.clear();
  if (job.info.custom_headers) wipe(*job.info.custom_headers);
  job.info.custom_headers.reset();
  job.info.client_certificate.reset();
  if (had && !job.is_final()) table_.save_credentials(job, "the wiped credentials");
}

Status JobManager::set_credentials(const Caller& caller, const Guid& id,
                                   const AuthCredentials& credentials) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (caller.uid != job.info.owner_uid) {
    return Status(hr::E_ACCESSDENIED, "only the job's owner can set its credentials");
  }
  if (Status s = validate_credentials(credentials); !s.ok()) return s;
  CredentialRecord record{
      credentials.target, credentials.scheme, credentials.user_name, credentials.password, {}};
  if (!record.user_name) {  // implicit: the owner's Kerberos tickets, where they keep them
    auto env = read_owner_environment(caller.pid, caller.uid);
    record.ccache = default_ccache(caller.uid, env["krb5ccname"]);
  }
  for (auto it = job.credentials.begin(); it != job.credentials.end(); ++it) {
    if (it->target == record.target && it->scheme == record.scheme) {
      if (it->password) wipe(*it->password);
      job.credentials.erase(it);
      break;
    }
  }
  job.credentials.push_back(std::move(record));
  if (Status s = store_.save_credentials(job); !s.ok()) return s;
  spdlog::info("job {}: uid {} set {} {} credentials{}", to_string(id), caller.uid,
               to_string(credentials.target), to_string(credentials.scheme),
               credentials.user_name ? "" : " (implicit)");
  return changed_secrets(job);
}

Status JobManager::remove_credentials(const Caller& caller, const Guid& id, AuthTarget target,
                                      AuthScheme scheme) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (caller.uid != job.info.owner_uid) {
    return Status(hr::E_ACCESSDENIED, "only the job's owner can remove its credentials");
  }
  AuthCredentials probe{target, scheme, std::string(), std::string()};
  if (Status s = validate_credentials(probe); !s.ok()) return s;
  for (auto it = job.credentials.begin(); it != job.credentials.end(); ++it) {
    if (it->target != target || it->scheme != scheme) continue;
    if (it->password) wipe(*it->password);
    job.credentials.erase(it);
    if (Status s = store_.save_credentials(job); !s.ok()) return s;
    spdlog::info("job {}: uid {} removed {} {} credentials", to_string(id), caller.uid,
                 to_string(target), to_string(scheme));
    return changed_secrets(job);
  }
  return Status::ok_status(hr::S_FALSE);
}

Status JobManager::set_client_certificate(const Caller& caller, const Guid& id,
                                          const ClientCertificateRequest& request) {
  std::string directory;
  Credentials owner;
  {
    std::lock_guard lock(mutex_);
    auto found = find(caller, id, Access::kModify);
    if (!found.ok()) return found.status();
    const JobRecord& job = **found;
    if (caller.uid != job.info.owner_uid) {
      return Status(hr::E_ACCESSDENIED, "only the job's owner can set its client certificate");
    }
    auto dir = cert_store_directory(config_.cert_stores, request.location, request.store_name,
                                    job.info.owner_uid);
    if (!dir.ok()) return dir.status();
    directory = *dir;
    owner = credentials_for(job.info.owner_uid, job.owner_gid);
  }
  // Reading the store (files the user chose) happens without the queue's lock.
  auto material = find_client_certificate(owner, directory, request.location, request.store_name,
                                          request.hash, request.subject);
  if (!material.ok()) return material.status();
  wipe(material->key_pem);
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);  // it may have changed meanwhile
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (caller.uid != job.info.owner_uid) return Status(hr::E_ACCESSDENIED);
  job.info.client_certificate = material->info;
  spdlog::info("job {}: uid {} set the client certificate {} ({})", to_string(id), caller.uid,
               hash_to_hex(material->info.hash), material->info.subject);
  return changed_secrets(job);
}

Status JobManager::remove_client_certificate(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (caller.uid != job.info.owner_uid) {
    return Status(hr::E_ACCESSDENIED, "only the job's owner can remove its client certificate");
  }
  job.info.client_certificate.reset();
  return changed_secrets(job);
}

Status JobManager::changed_secrets(JobRecord& job) {
  bool restarted = restart_transfer(job);  // the running file used the old ones
  mark_active(job);
  Status s = persist_job_row(job);
  if (restarted) schedule();
  return s;
}

}  // namespace openbits::daemon
