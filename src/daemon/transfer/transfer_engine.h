// TransferEngine: moves the bytes of one file at a time per job, on one engine thread.
// HTTP(S) through a libcurl multi handle (HEAD for size and validators, then GET with
// Range from the durable offset); file:// URLs and plain paths by chunked copy. Every
// file-system operation runs as the job owner (ScopedFsCredentials). Progress is reported
// only for bytes already fdatasync'ed, so the daemon never records bytes that a crash
// could lose.
//
// Threading: start()/stop()/set_rate_limit() are thread-safe and only enqueue; commands run
// in FIFO order on the engine thread, which also makes every TransferObserver call. The
// engine never holds its own lock while calling the observer, so the observer may call
// start()/stop().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "openbits/types.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/transfer/file_syncer.h"
#include "src/daemon/transfer/interface_counters.h"
#include "src/daemon/transfer/rate_pacer.h"
#include "src/daemon/transfer/transfer.h"
#include "src/daemon/transfer/yield_controller.h"

namespace openbits::daemon {

// Whether `ip` (the peer of a connection) can be reached now: a route exists and its
// interface is up and has carrier. Unknown or unparsable addresses count as reachable.
bool peer_reachable(const std::string& ip);

struct PeerFetch;  // transfer_internal.h

class TransferEngine final : public TransferBackend {
 public:
  explicit TransferEngine(TransferObserver& observer);
  ~TransferEngine() override;
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  // Returns a unique token at once; commands run in FIFO order on the engine thread.
  std::uint64_t start(DownloadRequest request) override;
  std::uint64_t start(UploadRequest request) override;
  // Asynchronous; once processed, no callback carries `token`. A stop followed by a start
  // of the same file runs in that order, so a file never has two writers. The temp file
  // stays for a later resume. The destructor stops everything the same way.
  void stop(std::uint64_t token) override;
  // The network changed (link, address or route): every HTTP transfer whose peer is no
  // longer reachable through an interface that is up ends with BG_E_NETWORK_DISCONNECTED.
  void network_changed() override;
  // The transfer's own rate in bytes per second, paced by the engine (rate_pacer.h) in the
  // body and upload callbacks, so it applies at once, also to a body being received
  // (libcurl's MAX_RECV_SPEED does not change a running request); 0 lifts the limit.
  // Local file copies are not limited.
  void set_rate_limit(std::uint64_t token, std::uint64_t bytes_per_s) override;
  // Shared budgets, paced the same way (transfer.h).
  void set_pool_rate(std::uint64_t pool, std::uint64_t bytes_per_s) override;
  void join_rate_pool(std::uint64_t token, std::uint64_t pool) override;
  // Idle-bandwidth use (yield_controller.h, docs/bandwidth.md): while other traffic uses
  // the interfaces the pools' transfers go through, the pools are cut to a trickle. On by
  // default; call before the first start(). `counters` replaces the system's (tests).
  void set_bandwidth_yield(bool on, std::unique_ptr<InterfaceCounters> counters = nullptr);

  // Where downloads with from_peers look for peers (null: nowhere; they use the origin).
  // Transfers started afterwards use it; it must outlive the engine.
  void set_peer_source(PeerSource* source) { peer_source_.store(source); }

  using Request = std::variant<DownloadRequest, UploadRequest>;
  struct Transfer;  // internal; defined in transfer_internal.h

 private:
  // One of: start (request), AUTODETECT's answer (proxies), a new rate budget
  // (rate_limit: the token's own, or with pool and token 0 the pool's), a token joins a
  // pool (pool), a written file's sync ended (synced: its errno, 0 = durable), a peer
  // fetch ended (peer_done), the network changed (token 0), or else stop.
  struct Command {
    std::uint64_t token = 0;
    std::optional<std::uint64_t> pool;
    std::unique_ptr<Request> request;
    std::optional<std::vector<std::string>> proxies;
    std::optional<std::uint64_t> rate_limit;
    std::optional<int> synced;
    bool peer_done = false;
  };
  // A peer fetch's worker thread (peer_transfer.cc); joined once its fetch is done.
  struct PeerWorker {
    std::thread thread;
    std::shared_ptr<PeerFetch> fetch;
  };
  // A download whose bytes are all written, waiting for the syncer (file_syncer.cc).
  struct Written {
    std::uint64_t total = 0;
    std::int64_t mtime_ms = 0;
  };
  struct Resolver {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  static constexpr std::chrono::milliseconds kResolverTimeout{15000};
  static constexpr std::size_t kMaxResolvers = 8;  // helper processes at once
  std::uint64_t enqueue_start(Request request);
  void enqueue(Command command);
  void run();
  void process_commands();
  void begin(std::uint64_t token, Request request);
  void apply_rate_limit(std::uint64_t token, std::uint64_t bytes_per_s);
  void apply_pool(const Command& command);
  void leave_pool(std::uint64_t token);
  // Resumes paused transfers whose bucket refilled, each in turn; the poll timeout (ms)
  // until the next one may go.
  int resume_paced(int timeout_ms);
  bool dispatch(Transfer& transfer);
  void resolve_proxies(const Transfer& t);
  void proxies_resolved(std::uint64_t token, std::vector<std::string> proxies);
  void join_resolvers(bool all);
  void end(std::uint64_t token);
  void handle_done(void* easy, int result);
  void check_network();
  void pump_copies();
  void start_syncer();
  void complete_later(Transfer& t);  // on_written now, on_complete once durable
  void finish_sync(std::uint64_t token, int error);
  // Peer fetches (peer_transfer.cc): a worker for each transfer that waits in kPeer
  // without one; the end of one; workers whose fetch is done joined (all: every one).
  void start_peer_fetches();
  void peer_fetched(std::uint64_t token);
  void join_peer_workers(bool all);
  // Yield (engine_yield.cc): a sample every kYieldSampleMs while enabled; the poll timeout
  // until the next one. retire() counts the last bytes of a transfer that ends.
  int sample_yield(int timeout_ms);
  void take_yield_sample(std::int64_t now_ms);
  void locate(Transfer& t);
  void retire(Transfer& t);
  void apply_pool_rates();
  void clamp_window(Transfer& t, bool clamp);
  void log_yield() const;

  TransferObserver& observer_;
  void* multi_ = nullptr;  // CURLM*
  std::mutex mutex_;
  std::deque<Command> commands_;
  bool quit_ = false;
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;  // engine thread only
  std::vector<Resolver> resolvers_;                               // engine thread only
  std::deque<std::uint64_t> waiting_resolution_;                  // tokens over the cap
  std::atomic<bool> quit_resolvers_{false};
  std::map<std::uint64_t, Written> awaiting_sync_;  // engine thread only
  std::map<std::uint64_t, RatePacer> pools_;        // engine thread only; never erased
  std::uint64_t last_resumed_ = 0;                  // resume_paced's turn
  std::atomic<PeerSource*> peer_source_{nullptr};
  std::vector<PeerWorker> peer_workers_;  // engine thread only
  // Yield, engine thread only (but yield_on_, set before the first start): the pools' rates
  // from set_pool_rate (the policy; 0 none), the pools whose transfers use a watched
  // interface, the interfaces watched and their counters at the last sample, and the
  // bytes of transfers that ended since, by interface.
  static constexpr std::int64_t kYieldSampleMs = 250;
  static constexpr int kClampedWindow = 64 * 1024;  // bytes, while the trickle holds
  std::atomic<bool> yield_on_{true};
  std::unique_ptr<InterfaceCounters> counters_;
  YieldController yield_;
  std::map<std::uint64_t, std::uint64_t> pool_policy_;
  std::set<std::uint64_t> yielding_pools_;
  std::map<std::string, InterfaceBytes> watched_;
  std::map<std::string, YieldController::Bytes> unsampled_;
  std::int64_t last_sample_ms_ = 0;
  std::int64_t next_sample_ms_ = 0;
  std::unique_ptr<FileSyncer> syncer_;  // stopped first at destruction
  std::thread thread_;
};

}  // namespace openbits::daemon
