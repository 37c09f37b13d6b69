// Notifier: tells programs about their jobs (bits-spec §1.7).
//
// Callbacks: a connection subscribes to a job (job.subscribe; last subscriber wins, like
// SetNotifyInterface) and receives JSON-RPC notifications filtered by the job's notify
// flags: job.transferred (0x1) and job.error (0x2), which the program acknowledges with
// job.acknowledge_notification; job.modification (0x8) and file.ranges_transferred (0x20),
// spaced by the job's minimum notification interval and never for the change to ERROR or
// TRANSFERRED; file.transferred (0x10), one at a time, each acknowledged like the job
// events, all of them before job.transferred/job.error. 0x4 disables everything.
//
// A failed, unanswered (Options::callback_timeout_ms) or lost transferred/error/file
// callback hands the job's TRANSFERRED/ERROR notification to the command line when one
// can run (and file callbacks stop); otherwise the same callback is sent again after the
// job's minimum retry delay, or at once to a connection that subscribes meanwhile.
//
// Command line: when the job is in TRANSFERRED or ERROR (flags 0x1/0x2) and no live
// subscriber took the notification, the registered program runs as the user who
// registered it (ProcessLauncher: no shell, a clean environment, stdio on /dev/null). A
// program that exits non-zero, or is killed after Options::program_timeout_ms, while the
// job is still in that state runs again after the job's minimum retry delay. Registering
// later, or restarting the daemon, delivers a pending notification too. Jobs owned or
// registered by system uids (below Options::first_user_uid, root included, and
// Options::system_uids) run programs too, unless Options::allow_system_uids is false (the
// config's notify_system_uids; JobManager then refuses such registrations, so only a
// command line stored before the policy changed meets it): then nothing runs, which is
// logged once per stay in TRANSFERRED/ERROR. At most Options::max_in_flight callbacks
// awaiting an answer and programs run at once per user; the rest wait. Every run is logged
// with the job, the user and the exit status.
//
// Events never carry the job's custom headers or notification command line.
//
// Memory: a job is tracked (with a copy of its JobInfo) only while the Notifier has
// something of it to keep: a subscriber, a stay in TRANSFERRED or ERROR, a delivery, a
// program, a timer or file events pending. Any other job's next event brings all the
// Notifier needs, so an idle queue costs it nothing per job.
//
// Threading: job_event() may be called from any thread and only posts to the io_context;
// everything else runs on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/daemon/core/job_events.h"
#include "src/daemon/notify/process_launcher.h"
#include "src/daemon/platform/clock.h"

namespace openbits::daemon {

class Notifier final : public JobListener {
 public:
  struct Options {
    std::string socket_path;  // given to programs as OPENBITS_SOCKET
    uid_t first_user_uid = 1000;
    std::vector<uid_t> system_uids = {65534};  // system accounts too (nobody)
    bool allow_system_uids = true;
    std::uint32_t max_in_flight = 4;            // per user
    std::int64_t callback_timeout_ms = 60'000;  // unanswered transferred/error callbacks
    std::int64_t program_timeout_ms = 600'000;  // a program running longer is killed
  };
  // Sends one line on a connection; false when the connection is gone.
  using Sender = std::function<bool(const std::string& line)>;

  Notifier(boost::asio::io_context& io, Clock& clock, ProcessLauncher& launcher, Options options);
  ~Notifier() override;

  void job_event(JobEvent event) override;

  void connection_opened(std::uint64_t connection, Sender sender);
  void connection_closed(std::uint64_t connection);
  // The caller's access to the job is checked by the dispatcher before these. A subscriber
  // that is neither an administrator (`admin`) nor the job's owner loses the subscription
  // with the first event that shows another owner (TakeOwnership).
  void subscribe(std::uint64_t connection, uid_t uid, const Guid& job, bool admin = false);
  void unsubscribe(std::uint64_t connection, const Guid& job);
  // The answer to a job.transferred/job.error notification: S_OK, or a failure (which
  // falls back to the command line or a later retry). BG_E_NOT_FOUND for an unknown
  // delivery.
  Status acknowledge(std::uint64_t connection, std::uint64_t delivery, HRESULT result);
  bool subscribed(const Guid& job) const;

 private:
  struct Tracked;
  struct Delivery {
    Guid job;
    uid_t uid = 0;
    std::uint64_t episode = 0;
    std::uint64_t connection = 0;
    std::unique_ptr<boost::asio::steady_timer> timeout;
    std::optional<std::uint32_t> file;  // a file.transferred delivery
  };

  void handle(JobEvent event);
  static bool dormant(const Tracked& t);  // nothing kept that the next event would not bring
  void drop_foreign_subscriber(const Guid& id, Tracked& t);
  void start_episode(Tracked& t, JobState state);
  void evaluate(const Guid& id, Tracked& t);
  void evaluate_all();
  bool take_slot(uid_t uid);
  void release_slot(uid_t uid);
  void send_callback(const Guid& id, Tracked& t);
  void delivery_failed(const Guid& id, std::uint64_t episode, std::uint64_t connection);
  bool system_uid(uid_t uid) const;
  bool system_account(const Tracked& t) const;
  bool cmd_line_runnable(const Tracked& t) const;
  void log_not_run(Tracked& t);
  void run_program(const Guid& id, Tracked& t);
  void limit_program(const Guid& id, pid_t pid, uid_t uid);
  void program_exited(const Guid& id, std::uint64_t episode, uid_t uid, pid_t pid, int wait_status);
  void retry_later(const Guid& id, Tracked& t);
  void arm_timer(const Guid& id, Tracked& t, std::int64_t at_ms, bool throttle);
  void modification(const Guid& id, Tracked& t);
  void send_modification(const Guid& id, Tracked& t);
  void pump_files(const Guid& id, Tracked& t);
  void track(std::uint64_t delivery, Delivery d);
  Status file_answered(const Delivery& d, std::uint64_t delivery, HRESULT result);
  bool send(std::uint64_t connection, const char* method, nlohmann::json params);
  void remove(const Guid& id);

  boost::asio::io_context& io_;
  Clock& clock_;
  ProcessLauncher& launcher_;
  Options options_;
  std::map<Guid, std::unique_ptr<Tracked>> jobs_;
  std::map<std::uint64_t, Sender> connections_;
  std::map<std::uint64_t, Delivery> deliveries_;
  std::map<uid_t, std::uint32_t> in_flight_;
  std::map<pid_t, std::unique_ptr<boost::asio::steady_timer>> program_timers_;
  std::uint64_t next_delivery_ = 1;
  std::uint64_t next_episode_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace openbits::daemon
