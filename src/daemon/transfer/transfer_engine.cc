// TransferEngine; see transfer_engine.h. The engine thread runs the command queue, the
// libcurl multi handle and the chunked file copies. One Transfer per running file: HEAD (or
// the source's stat), a resolved plan of byte ranges, then GETs (or copies) that append to
// the temp file from the durable offset, with fdatasync checkpoints. HTTP details are in
// http_transfer.cc, file copies in file_copy.cc.
#include "src/daemon/transfer/transfer_engine.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/security/owner_path.h"
#include "src/daemon/transfer/proxy_resolver.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon {
namespace transfer_detail {
namespace {

// Whether the job owner may still create and rename files in the temp file's directory.
bool destination_writable(const Transfer& t) {
  const std::string& temp = t.download().temp_name;
  std::size_t slash = temp.rfind('/');
  if (slash == std::string::npos) return true;
  std::string dir = slash == 0 ? "/" : temp.substr(0, slash);
  ScopedFsCredentials as_owner(t.common().owner);
  if (!as_owner.ok()) return false;
  // AT_EACCESS: checked with the fs credentials just assumed, not the daemon's real ids.
  return ::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) == 0 || errno != EACCES;
}

}  // namespace

bool checkpoint(Transfer& t) {
  if (t.fd < 0 || t.offset == t.synced) return true;
  if (::fdatasync(t.fd) != 0) {
    t.fail(classify_local_errno(errno), std::string("fdatasync: ") + std::strerror(errno));
    return false;
  }
  // The destination directory (and the temp file with it) was removed: stop writing into
  // a file nobody can reach.
  struct stat st {};
  if (::fstat(t.fd, &st) == 0 && st.st_nlink == 0) {
    t.fail({hr::PATH_NOT_FOUND, ErrorContext::kLocalFile, false},
           t.download().temp_name + " was removed during the transfer");
    return false;
  }
  // The owner can no longer write the destination directory: the file could never be
  // delivered, so say so now rather than at Complete.
  if (!destination_writable(t)) {
    t.fail({hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false},
           "the owner can no longer write the directory of " + t.download().temp_name);
    return false;
  }
  t.synced = t.offset;
  t.last_sync = Transfer::Clock::now();
  t.observer->on_progress(t.token, t.synced);
  return true;
}

bool checkpoint_due(const Transfer& t) {
  if (t.offset == t.synced) return false;
  return t.offset - t.synced >= t.download().checkpoint_bytes ||
         Transfer::Clock::now() - t.last_sync >= t.download().checkpoint_interval;
}

bool write_all(Transfer& t, const char* data, std::size_t size) {
  if (t.body_hash && t.hashed == t.offset) {
    t.body_hash->update(std::string_view(data, size));
    t.hashed += size;
  } else {
    t.body_hash.reset();  // a write elsewhere than the hash's end: it cannot cover the file
  }
  while (size > 0) {
    ssize_t n = ::pwrite(t.fd, data, size, static_cast<off_t>(t.offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      t.fail(classify_local_errno(errno), std::string("write: ") + std::strerror(errno));
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    t.offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

std::optional<std::uint64_t> open_temp(Transfer& t) {
  if (t.fd >= 0) ::close(t.fd);
  {
    ScopedFsCredentials as_owner(t.common().owner);
    if (!as_owner.ok()) {
      t.fail({hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false}, "cannot assume the owner");
      return std::nullopt;
    }
    // Relative to the directory opened once, never through a symlink (for root's jobs, none
    // anywhere in the path), mode from the owner's umask (owner_path.h).
    t.fd = open_file_for_writing(t.download().temp_name, t.common().owner.creation_mask,
                                 t.common().owner.uid == 0);
  }
  if (t.fd < 0) {
    t.fail(classify_local_errno(errno),
           "cannot open " + t.download().temp_name + ": " + std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(t.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    t.fail({hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false},
           t.download().temp_name + " is not a regular file");
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(st.st_size);
}

bool cut_temp(Transfer& t, std::uint64_t length) {
  if (::ftruncate(t.fd, static_cast<off_t>(length)) != 0) {
    t.fail(classify_local_errno(errno), std::string("ftruncate: ") + std::strerror(errno));
    return false;
  }
  t.offset = t.synced = length;
  // The hash covers only bytes this transfer wrote: from byte 0, or not at all.
  bool hashing = !t.is_upload() && t.download().hash_body && length == 0;
  t.body_hash = hashing ? std::make_unique<Sha256>() : nullptr;
  t.hashed = 0;
  t.body_sha256.clear();
  return true;
}

const std::string& finished_body_sha256(Transfer& t) {
  if (t.body_hash && t.hashed == t.offset) t.body_sha256 = t.body_hash->hex();
  t.body_hash.reset();
  return t.body_sha256;
}

void report_body_sha256(Transfer& t) {
  if (t.is_upload() || !t.download().hash_body) return;
  const std::string& hex = finished_body_sha256(t);
  if (!hex.empty()) t.observer->on_body_sha256(t.token, hex);
}

void report_restart(Transfer& t) {
  RemoteValidators reported = t.seen;
  if (t.total != kSizeUnknown) reported.size = t.total;
  t.observer->on_validators(t.token, reported, true);
}

void announce(Transfer& t) {
  if (t.announced) return;
  t.announced = true;
  t.observer->on_connected(t.token);
  RemoteValidators reported = t.seen;
  if (t.total != kSizeUnknown) reported.size = t.total;
  t.observer->on_validators(t.token, reported, t.restarted);
}

}  // namespace transfer_detail

namespace {

using transfer_detail::Transfer;
using namespace transfer_detail;  // NOLINT(google-build-using-namespace): module-internal

constexpr std::size_t kCopyChunk = 1 << 20;
constexpr std::uint64_t kCopyBudgetPerLoop = 8ull << 20;

// Resolves the requested ranges against the remote size.
bool resolve_plan(Transfer& t) {
  const auto& ranges = t.download().ranges;
  if (ranges.empty()) {
    if (t.seen.size != kSizeUnknown && !t.without_head()) {
      t.plan = {{0, t.seen.size}};
      t.total = t.seen.size;
    }
    return true;
  }
  if (t.seen.size == kSizeUnknown) {
    t.fail({hr::BG_E_MISSING_FILE_SIZE, ErrorContext::kRemoteFile, false}, "no size for ranges");
    return false;
  }
  t.total = 0;
  for (const FileRange& r : ranges) {
    std::uint64_t size = t.seen.size;
    std::uint64_t length =
        r.length == kLengthToEof ? size - std::min(r.initial_offset, size) : r.length;
    if (r.initial_offset > size || length > size - r.initial_offset) {
      t.fail({hr::BG_E_INVALID_RANGE, ErrorContext::kRemoteFile, false}, "range beyond the end");
      return false;
    }
    if (length > 0) t.plan.push_back({r.initial_offset, length});
    t.total += length;
  }
  return true;
}

// Reports a failed transfer: bytes already written become durable first, so a retry
// resumes after them.
void report_failure(Transfer& t) {
  Failure f = *t.failure;
  if (f.context != ErrorContext::kLocalFile) (void)checkpoint(t);
  if (!t.server_reason.empty()) t.observer->on_server_reason(t.token, t.server_reason);
  t.observer->on_error(t.token, f.code, f.context, f.transient, f.retry_after_s, t.detail);
}

// A transport failure to a peer that cannot be reached any more is the network's fault.
Failure transport_failure(const Transfer& t, CURLcode code) {
  Failure f = connection_failure(t, code);
  if (t.peer_unreachable) {
    return {hr::BG_E_NETWORK_DISCONNECTED, ErrorContext::kGeneralTransport, true};
  }
  if (f.context != ErrorContext::kGeneralTransport && f.code != hr::BG_E_CONNECTION_CLOSED) {
    return f;
  }
  char* ip = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_PRIMARY_IP, &ip);
  if (ip && *ip && !peer_reachable(ip)) {
    return {hr::BG_E_NETWORK_DISCONNECTED, ErrorContext::kGeneralTransport, true};
  }
  return f;
}

// Final flush (it also covers the ftruncate) and report.
void report_complete(Transfer& t) {
  if (::fdatasync(t.fd) != 0) {
    t.fail(classify_local_errno(errno), std::string("fdatasync: ") + std::strerror(errno));
    report_failure(t);
    return;
  }
  ::close(t.fd);
  t.fd = -1;
  report_body_sha256(t);
  t.observer->on_complete(t.token, t.offset, t.mtime_ms);
}

// Validators are known (HEAD answered or the source was opened), or not needed (dynamic
// content, custom verb): decide where to resume, open the temp file and start moving bytes.
// Returns false when the transfer is over (failed or complete).
bool after_validators(Transfer& t, CURLM* multi) {
  bool changed = validators_changed(t.download().validators, t.seen);
  if (!resolve_plan(t)) return false;
  std::uint64_t resume_at = t.without_head() || changed ? 0 : t.download().durable_offset;
  if (t.total != kSizeUnknown && resume_at > t.total) resume_at = 0;
  auto on_disk = open_temp(t);
  if (!on_disk) return false;
  if (*on_disk < resume_at) resume_at = 0;  // the temp file lost bytes: never fill with zeros
  t.restarted = t.restarted || changed || resume_at < t.download().durable_offset;
  // Write ordering: the lower byte count is committed before the temp file is cut.
  if (t.restarted && !t.announced) {
    if (t.without_head() && t.source_fd < 0) {
      report_restart(t);
    } else {
      announce(t);
    }
  }
  if (!cut_temp(t, resume_at)) return false;
  if (!t.without_head() || t.source_fd >= 0) announce(t);
  if (t.total != kSizeUnknown && t.offset == t.total) {
    report_complete(t);
    return false;
  }
  if (t.source_fd >= 0) {
    t.phase = Transfer::Phase::kCopy;
    return true;
  }
  if (wants_peers(t)) {  // the engine loop starts its worker (start_peer_fetches)
    t.phase = Transfer::Phase::kPeer;
    t.peers_asked = true;
    return true;
  }
  if (!start_get(t, multi)) {
    t.fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start the request");
    return false;
  }
  return true;
}

// The remote file changed under the transfer: forget what is known about it and start
// again with a HEAD; the file restarts from byte 0 (after_validators commits that first).
bool restart_file(Transfer& t, CURLM* multi) {
  t.restart_pending = false;
  if (++t.restarts > kMaxRestarts) {
    // bits-spec §2.5: BG_E_REMOTE_FILE_CHANGED waits for Resume (ERROR, not retried).
    t.fail({hr::BG_E_REMOTE_FILE_CHANGED, ErrorContext::kRemoteFile, false},
           "the remote file keeps changing");
    return false;
  }
  t.download().validators = RemoteValidators{};
  t.download().durable_offset = 0;
  t.seen = RemoteValidators{};
  t.expected = RemoteValidators{};
  t.plan.clear();
  t.total = kSizeUnknown;
  t.announced = false;
  t.restarted = true;
  t.head_skipped = false;  // the file changed under its GET: HEAD first this time
  if (t.without_head()) return after_validators(t, multi);
  if (!start_head(t, multi)) {
    t.fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start HEAD");
    return false;
  }
  return true;
}

// A GET finished without a transport error.
bool after_get(Transfer& t, CURLM* multi) {
  if (!finish_get(t)) return false;
  if (t.get_remaining != kSizeUnknown && t.get_remaining > 0) {
    t.fail({hr::BG_E_CONNECTION_CLOSED, ErrorContext::kRemoteFile, true}, "the body ended early");
    return false;
  }
  if (t.total != kSizeUnknown && t.offset < t.total) return start_get(t, multi);  // next range
  announce(t);  // an empty body of dynamic content
  if (!t.without_head()) {
    // A file overwritten in place while it was served keeps its old headers: only a
    // last look at the validators can tell, before the bytes are called complete.
    if (start_verify(t, multi)) return true;
    t.fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start HEAD");
    return false;
  }
  report_complete(t);
  return false;
}

}  // namespace

TransferEngine::TransferEngine(TransferObserver& observer) : observer_(observer) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = curl_multi_init();
  // No HTTP/2 multiplexing between transfers: jobs differ in TLS policy, credentials and
  // proxy accounts, and a connection in use by one must never carry another's request.
  curl_multi_setopt(static_cast<CURLM*>(multi_), CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  start_syncer();
  counters_ = std::make_unique<SystemInterfaceCounters>();
  thread_ = std::thread([this] { run(); });
}

TransferEngine::~TransferEngine() {
  syncer_.reset();  // its callback enqueues and wakes the multi handle
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  quit_resolvers_.store(true);
  join_resolvers(true);
  for (auto& [token, t] : transfers_) {
    if (t->easy) curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  }
  transfers_.clear();  // cancels the peer fetches
  join_peer_workers(true);
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

std::uint64_t TransferEngine::start(DownloadRequest request) {
  return enqueue_start(std::move(request));
}

std::uint64_t TransferEngine::start(UploadRequest request) {
  return enqueue_start(std::move(request));
}

std::uint64_t TransferEngine::enqueue_start(Request request) {
  std::uint64_t token = 0;
  Command command;
  command.request = std::make_unique<Request>(std::move(request));
  {
    std::lock_guard lock(mutex_);
    token = command.token = next_token_++;
    commands_.push_back(std::move(command));
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  return token;
}

void TransferEngine::stop(std::uint64_t token) {
  Command command;
  command.token = token;
  enqueue(std::move(command));
}

void TransferEngine::set_rate_limit(std::uint64_t token, std::uint64_t bytes_per_s) {
  Command command;
  command.token = token;
  command.rate_limit = bytes_per_s;
  enqueue(std::move(command));
}

void TransferEngine::set_pool_rate(std::uint64_t pool, std::uint64_t bytes_per_s) {
  if (pool == 0) return;
  Command command;
  command.pool = pool;
  command.rate_limit = bytes_per_s;
  enqueue(std::move(command));
}

void TransferEngine::join_rate_pool(std::uint64_t token, std::uint64_t pool) {
  if (token == 0) return;
  Command command;
  command.token = token;
  command.pool = pool;
  enqueue(std::move(command));
}

void TransferEngine::network_changed() { enqueue(Command{}); }

void TransferEngine::enqueue(Command command) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(std::move(command));
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void TransferEngine::process_commands() {
  std::deque<Command> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(commands_);
  }
  for (Command& command : batch) {
    if (command.pool) {
      apply_pool(command);
    } else if (command.token == 0) {
      check_network();
    } else if (command.proxies) {
      proxies_resolved(command.token, std::move(*command.proxies));
    } else if (command.rate_limit) {
      apply_rate_limit(command.token, *command.rate_limit);
    } else if (command.synced) {
      finish_sync(command.token, *command.synced);
    } else if (command.peer_done) {
      peer_fetched(command.token);
    } else if (command.request) {
      begin(command.token, std::move(*command.request));
    } else {
      end(command.token);
    }
  }
}

void TransferEngine::check_network() {
  std::vector<std::uint64_t> cut_off;
  for (auto& [token, t] : transfers_) {
    bool off_network = t->phase == Transfer::Phase::kCopy || t->phase == Transfer::Phase::kPeer;
    if (!t->easy || off_network) continue;
    char* ip = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip);
    if (ip && *ip && !peer_reachable(ip)) cut_off.push_back(token);
  }
  for (std::uint64_t token : cut_off) {
    Transfer& t = *transfers_[token];
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), t.easy);
    t.fail({hr::BG_E_NETWORK_DISCONNECTED, ErrorContext::kGeneralTransport, true},
           "the network path to the server went down");
    report_failure(t);
    retire(t);
    transfers_.erase(token);
  }
}

void TransferEngine::end(std::uint64_t token) {
  awaiting_sync_.erase(token);  // its sync may end, but is not reported
  auto it = transfers_.find(token);
  if (it == transfers_.end()) return;
  if (it->second->easy) curl_multi_remove_handle(static_cast<CURLM*>(multi_), it->second->easy);
  retire(*it->second);
  transfers_.erase(it);  // closes the temp file; it stays for a later resume
}

void TransferEngine::apply_rate_limit(std::uint64_t token, std::uint64_t bytes_per_s) {
  auto it = transfers_.find(token);
  if (it == transfers_.end()) return;  // finished, stopped or never started: nothing to do
  Transfer& t = *it->second;
  t.own_pacer.set_rate(bytes_per_s, pacing_now_ms());
  t.pacer = bytes_per_s != 0 ? &t.own_pacer : nullptr;
}

void TransferEngine::apply_pool(const Command& command) {
  if (command.token != 0 && *command.pool == 0) {
    leave_pool(command.token);
    return;
  }
  RatePacer& pool = pools_[*command.pool];
  if (command.token == 0) {
    pool_policy_[*command.pool] = command.rate_limit.value_or(0);
    apply_pool_rates();  // the policy's rate, or the yield's if lower
    return;
  }
  auto it = transfers_.find(command.token);
  if (it == transfers_.end()) return;
  it->second->pacer = &pool;
  it->second->pool = *command.pool;
}

// A transfer whose job became FOREGROUND: its bytes so far count as background, its window
// is given back, and it runs unpaced (or at a limit of its own) from now on.
void TransferEngine::leave_pool(std::uint64_t token) {
  auto it = transfers_.find(token);
  if (it == transfers_.end() || it->second->pool == 0) return;
  Transfer& t = *it->second;
  retire(t);
  t.pool = 0;
  t.pacer = t.own_pacer.limited() ? &t.own_pacer : nullptr;
  if (t.paced_pause && t.easy && !t.pacer) {
    t.paced_pause = false;
    curl_easy_pause(t.easy, CURLPAUSE_CONT);
  }
}

int TransferEngine::resume_paced(int timeout_ms) {
  std::int64_t now = pacing_now_ms();
  // From the transfer after the one resumed last, around: bytes go to each in turn.
  auto resume = [&](auto first, auto last) {
    for (auto it = first; it != last; ++it) {
      Transfer& t = *it->second;
      if (!t.paced_pause || !t.easy) continue;
      if (paced_allowance(t) == 0) {
        timeout_ms = static_cast<int>(std::min<std::int64_t>(timeout_ms, t.pacer->wait_ms(now)));
        continue;
      }
      t.paced_pause = false;  // a callback inside curl_easy_pause may set it again
      last_resumed_ = it->first;
      curl_easy_pause(t.easy, CURLPAUSE_CONT);
    }
  };
  auto middle = transfers_.upper_bound(last_resumed_);
  resume(middle, transfers_.end());
  resume(transfers_.begin(), middle);
  return timeout_ms;
}

void TransferEngine::begin(std::uint64_t token, Request request) {
  auto t = std::make_unique<Transfer>();
  t->token = token;
  t->request = std::move(request);
  t->observer = &observer_;
  t->peer_source = peer_source_.load();
  if (needs_proxy_resolution(*t)) {  // AUTODETECT: ask WPAD first, off this thread
    t->phase = Transfer::Phase::kResolve;
    resolve_proxies(*t);
    transfers_[token] = std::move(t);
    return;
  }
  if (dispatch(*t)) transfers_[token] = std::move(t);
}

void TransferEngine::resolve_proxies(const Transfer& t) {
  if (resolvers_.size() >= kMaxResolvers) {  // started by join_resolvers() when one ends
    waiting_resolution_.push_back(t.token);
    return;
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  resolvers_.push_back(
      {std::thread([this, done, token = t.token, program = t.common().proxy.resolver,
                    account = t.common().proxy.resolver_user, url = t.common().remote_name,
                    owner = t.common().owner, job = t.common().job_id] {
         std::vector<std::string> proxies = resolve_job_proxies(program, account, url, owner, job,
                                                                kResolverTimeout, quit_resolvers_);
         if (proxies.empty()) proxies.push_back("direct://");  // WPAD found nothing
         Command answer;
         answer.token = token;
         answer.proxies = std::move(proxies);
         {
           std::lock_guard lock(mutex_);
           commands_.push_back(std::move(answer));
         }
         done->store(true);
         curl_multi_wakeup(static_cast<CURLM*>(multi_));
       }),
       done});
}

void TransferEngine::proxies_resolved(std::uint64_t token, std::vector<std::string> proxies) {
  auto it = transfers_.find(token);
  if (it == transfers_.end() || it->second->phase != Transfer::Phase::kResolve) return;
  it->second->autodetected = std::move(proxies);
  if (!dispatch(*it->second)) transfers_.erase(it);
}

void TransferEngine::join_resolvers(bool all) {
  for (auto it = resolvers_.begin(); it != resolvers_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = resolvers_.erase(it);
    } else {
      ++it;
    }
  }
  while (!all && !waiting_resolution_.empty() && resolvers_.size() < kMaxResolvers) {
    auto it = transfers_.find(waiting_resolution_.front());
    waiting_resolution_.pop_front();
    if (it != transfers_.end()) resolve_proxies(*it->second);  // not stopped meanwhile
  }
}

// Starts the transfer's first step; false when it is over already (failure reported).
bool TransferEngine::dispatch(Transfer& transfer) {
  Transfer* t = &transfer;
  auto* multi = static_cast<CURLM*>(multi_);
  bool running = false;
  if (t->is_upload()) {
    running = begin_upload(*t, multi);
  } else if (is_file_source(t->common().remote_name)) {
    running = open_source(*t) && after_validators(*t, multi);
  } else if (t->without_head()) {
    running = after_validators(*t, multi);
  } else if (t->fresh_whole_file()) {
    // One round trip less per file (many small files): the GET's headers replace HEAD's,
    // and the temp file is opened when they come (take_validators_from_get).
    t->head_skipped = true;
    running = start_get(*t, multi);
    if (!running) t->fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start the GET");
  } else {
    running = start_head(*t, multi);
    if (!running) t->fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start HEAD");
  }
  if (!running && t->failure) report_failure(*t);
  return running;
}

void TransferEngine::handle_done(void* easy, int result) {
  Transfer* t = nullptr;
  curl_easy_getinfo(static_cast<CURL*>(easy), CURLINFO_PRIVATE, &t);
  if (!t) return;
  auto* multi = static_cast<CURLM*>(multi_);
  curl_multi_remove_handle(multi, t->easy);
  auto code = static_cast<CURLcode>(result);
  bool running = false;
  if (t->phase == Transfer::Phase::kUpload) {
    if (!t->failure) running = after_upload_packet(*t, multi, code);
  } else if (t->restart_pending || t->failure) {
    // set by a callback, which aborted the request
  } else if (Challenge c = answer_challenge(*t, final_status(*t)); c != Challenge::kNone) {
    // 401 / 407: answered once with the job's credentials, or the job's error.
    if (c == Challenge::kRetry) {
      running = t->phase == Transfer::Phase::kHead  ? start_head(*t, multi)
                : t->phase == Transfer::Phase::kGet ? start_get(*t, multi)
                                                    : start_verify(*t, multi);
    }
  } else if (code == CURLE_HTTP_RETURNED_ERROR) {
    long status = final_status(*t);
    t->fail(status_failure(*t, status), "HTTP status " + std::to_string(status));
  } else if (code != CURLE_OK) {
    t->fail(transport_failure(*t, code), curl_easy_strerror(code));
  } else if (t->phase == Transfer::Phase::kHead) {
    running = finish_head(*t) && after_validators(*t, multi);
  } else if (t->phase == Transfer::Phase::kVerify) {
    if (finish_verify(*t)) {
      if (!peer_bytes_wrong(*t)) {
        complete_later(*t);
      } else {
        running = refetch_from_origin(*t, multi);
      }
    }
  } else {
    running = after_get(*t, multi);
  }
  if (!running && t->restart_pending && !t->failure) running = restart_file(*t, multi);
  if (running) return;
  if (t->failure) report_failure(*t);
  retire(*t);
  transfers_.erase(t->token);
}

void TransferEngine::pump_copies() {
  // Allocated only when a copy runs: the loop passes here on every socket event of every
  // HTTP transfer, and zeroing 1 MiB each time was a quarter of bitsd's CPU in an upload.
  std::vector<char> buffer;
  std::vector<std::uint64_t> finished;
  for (auto& [token, t] : transfers_) {
    if (t->phase != Transfer::Phase::kCopy) continue;
    if (buffer.empty()) buffer.resize(kCopyChunk);
    copy_some(*t, buffer, kCopyBudgetPerLoop);
    if (t->failure) {
      report_failure(*t);
      finished.push_back(token);
    } else if (t->offset >= t->total) {
      report_complete(*t);
      finished.push_back(token);
    }
  }
  for (std::uint64_t token : finished) transfers_.erase(token);
}

void TransferEngine::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (quit_) return;
    }
    process_commands();
    join_resolvers(false);
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE) handle_done(message->easy_handle, message->data.result);
    }
    pump_copies();
    start_peer_fetches();
    join_peer_workers(false);
    bool copying = false;
    for (auto& [token, t] : transfers_) {
      if (t->phase == Transfer::Phase::kCopy) copying = true;
      // A slow body: the time window passes between callbacks.
      if (t->phase == Transfer::Phase::kGet && checkpoint_due(*t)) (void)checkpoint(*t);
      if (t->phase == Transfer::Phase::kPeer && t->peer_fetch) (void)sync_peer_bytes(*t, false);
    }
    int timeout_ms = sample_yield(resume_paced(copying ? 0 : 200));
    curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
  }
}

}  // namespace openbits::daemon
