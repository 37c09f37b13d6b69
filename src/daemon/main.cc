// bitsd: the openbits daemon. Parses the command line, opens the store, loads the queue,
// and runs the RPC server and the scheduler on one event loop while the transfer engine
// runs on its own thread. SIGTERM/SIGINT shut down cleanly; readiness is reported to
// systemd with sd_notify. bitsd never has a controlling terminal (daemon_session.h) and
// its log cannot be forged or read by other users (log_setup.h).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "src/common/asio.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/store.h"
#include "src/daemon/notify/notifier.h"
#include "src/daemon/notify/process_launcher.h"
#include "src/daemon/notify/queue_watch.h"
#include "src/daemon/peer/peer_service.h"
#include "src/daemon/platform/config.h"
#include "src/daemon/platform/daemon_session.h"
#include "src/daemon/platform/log_setup.h"
#include "src/daemon/platform/memory_reserve.h"
#include "src/daemon/platform/network_monitor.h"
#include "src/daemon/rpc/dispatcher.h"
#include "src/daemon/rpc/rpc_server.h"
#include "src/daemon/transfer/proxy_resolver.h"
#include "src/daemon/transfer/transfer_engine.h"

namespace asio = boost::asio;
using namespace openbits;
using namespace openbits::daemon;

namespace {

struct Options {
  bool user = false;
  std::string state_dir;
  std::string socket;
  std::string config;
  std::string log_file;
  std::string log_level = "info";
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

void apply_default_paths(Options& o) {
  bool system = !o.user;
  std::string home = env_or("HOME", "/tmp");
  if (o.state_dir.empty()) {
    o.state_dir = system ? "/var/lib/openbits"
                         : env_or("XDG_STATE_HOME", home + "/.local/state") + "/openbits";
  }
  if (o.socket.empty()) {
    std::string runtime = env_or("XDG_RUNTIME_DIR", "/tmp/openbits-" + std::to_string(getuid()));
    o.socket = env_or("OPENBITS_SOCKET",
                      system ? "/run/openbits/bitsd.sock" : runtime + "/openbits/bitsd.sock");
  }
  if (o.config.empty() && system && std::filesystem::exists("/etc/openbits/bitsd.json")) {
    o.config = "/etc/openbits/bitsd.json";
  }
}

// One daemon per state directory: an exclusive lock held for the process's life. Returns
// an explanation if the lock cannot be had.
std::optional<std::string> lock_state_dir(const std::string& dir) {
  std::string path = dir + "/bitsd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return "cannot create " + path + ": " + std::strerror(errno) +
           ". The state directory must be writable by bitsd (check its mount and permissions).";
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // fd stays open on purpose
    return "another bitsd is using " + dir + " (" + path + " is locked); stop it first.";
  }
  return std::nullopt;
}

// Every RPC connection holds a descriptor: raise the soft RLIMIT_NOFILE to the hard limit
// (systemd starts services at 1024 soft) and say so if the connection cap cannot fit.
void raise_descriptor_limit(std::uint32_t max_connections) {
  constexpr rlim_t kReserve = 256;  // store, transfers, notifications, /proc reads
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < rlim_t{max_connections} + kReserve) {
    spdlog::warn(
        "open-file limit {} leaves less than {} descriptors beyond max_connections {}; "
        "raise LimitNOFILE or lower max_connections",
        limit.rlim_cur, kReserve, max_connections);
  }
}

void schedule_tick(asio::steady_timer& timer, JobManager& jobs) {
  timer.expires_after(std::chrono::milliseconds(250));
  timer.async_wait([&timer, &jobs](boost::system::error_code ec) {
    if (ec) return;
    jobs.tick();
    schedule_tick(timer, jobs);
  });
}

int run(const Options& options) {
  Config config;
  if (!options.config.empty()) {
    auto loaded = load_config(options.config);
    if (!loaded.ok()) {
      spdlog::critical("{}", loaded.status().message());
      return 1;
    }
    config = *loaded;
  }
  // A --user instance serves one user: that user's programs always run.
  if (options.user) config.notify_system_uids = true;
  if (config.proxy_resolver.empty()) {  // AUTODETECT's helper, installed beside bitsd
    std::error_code exe_error;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", exe_error);
    if (!exe_error) config.proxy_resolver = exe.parent_path() / "bitsd-proxy-resolver";
  }
  if (auto account = resolver_credentials({}, config.proxy_resolver_user); !account.ok()) {
    spdlog::warn("root's AUTODETECT jobs will go direct: {}", account.status().message());
  }
  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  std::filesystem::create_directories(std::filesystem::path(options.socket).parent_path(), ec);
  ::chmod(options.state_dir.c_str(), 0700);
  if (auto problem = lock_state_dir(options.state_dir)) {
    spdlog::critical("{}", *problem);
    return 1;
  }
  std::string db_path = options.state_dir + "/jobs.db";
  auto store = Store::open(db_path);
  if (!store.ok()) {
    spdlog::critical(
        "{}. bitsd will not start without a store it can read and write. If the file is "
        "damaged, move it aside (with its -wal and -shm files) to start with an empty queue, "
        "or put back a backup (jobs.db.v<N>.bak); if it is read-only, fix the mount or the "
        "permissions.",
        store.status().message());
    return 1;
  }
  SystemClock clock;
  JobManager jobs(**store, clock, config, options.state_dir);
  asio::io_context io;
  ForkLauncher launcher(io);
  Notifier::Options notifier_options;
  notifier_options.socket_path = options.socket;
  notifier_options.first_user_uid = config.first_user_uid;
  notifier_options.allow_system_uids = config.notify_system_uids;
  notifier_options.max_in_flight = config.max_notifications_per_user;
  notifier_options.callback_timeout_ms = config.callback_timeout_ms;
  notifier_options.program_timeout_ms = config.notify_program_timeout_ms;
  notifier_options.system_uids = config.system_uids;
  auto notifier = std::make_shared<Notifier>(io, clock, launcher, notifier_options);
  auto watch = std::make_shared<QueueWatch>(io);
  JobListenerFanOut listeners(*notifier, *watch);
  jobs.set_listener(&listeners);
  if (Status s = jobs.load(); !s.ok()) {
    spdlog::critical("cannot load jobs from {}: {}", db_path, s.message());
    return 1;
  }
  // Peer caching's network side (docs/peer-caching.md part 2), when the config asks for it.
  // Declared after `jobs`, its source: it stops before the JobManager goes; and before the
  // engine, whose peer fetches use it: the engine stops first.
  std::unique_ptr<PeerService> peers;
  if (PeerService::configured(config)) {
    auto created = PeerService::create(config, jobs);
    if (!created.ok()) {
      spdlog::critical("{}", created.status().message());  // names the bad key
      return 1;
    }
    peers = std::move(*created);
    if (Status s = peers->start(); !s.ok()) {
      spdlog::critical("{}", s.message());
      return 1;
    }
  }

  TransferEngine engine(jobs);
  engine.set_bandwidth_yield(config.bandwidth_yield);
  if (peers) engine.set_peer_source(peers->peer_source());
  jobs.set_backend(&engine);

  Dispatcher dispatcher(jobs);
  dispatcher.set_peer_directory(peers ? &peers->directory() : nullptr);
  dispatcher.set_notifier(notifier.get());
  dispatcher.set_queue_watch(watch.get());
  RpcServer::Options server_options;
  std::weak_ptr<Notifier> weak_notifier = notifier;
  std::weak_ptr<QueueWatch> weak_watch = watch;
  server_options.on_open = [weak_notifier, weak_watch](std::uint64_t id, Notifier::Sender send) {
    if (auto w = weak_watch.lock()) w->connection_opened(id, send);
    if (auto n = weak_notifier.lock()) n->connection_opened(id, std::move(send));
  };
  server_options.on_close = [weak_notifier, weak_watch](std::uint64_t id) {
    if (auto w = weak_watch.lock()) w->connection_closed(id);
    if (auto n = weak_notifier.lock()) n->connection_closed(id);
  };
  server_options.socket_path = options.socket;
  server_options.admin_gid = config.admin_gid;
  server_options.max_connections_per_uid = config.max_connections_per_uid;
  server_options.max_connections = config.max_connections;
  server_options.max_reply_bytes_per_connection = config.max_reply_bytes_per_connection;
  server_options.max_reply_bytes_per_uid = config.max_reply_bytes_per_uid;
  raise_descriptor_limit(config.max_connections);
  if (options.user) {
    server_options.only_uid = getuid();
    server_options.mode = 0600;
  }
  RpcServer server(io, dispatcher, server_options);
  if (Status s = server.listen(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return 1;
  }
  asio::steady_timer ticker(io);
  schedule_tick(ticker, jobs);
  NetworkMonitor network(io, [&jobs](bool connected) { jobs.on_network_change(connected); });
  if (Status s = network.start(); s.ok()) {
    jobs.set_network_events(true);
  } else {
    spdlog::warn("{}: network changes are not watched; disconnected jobs retry on their delay",
                 s.message());
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code, int signal) {
    spdlog::info("signal {}: shutting down", signal);
    notify_stopping();
    server.close();
    ticker.cancel();
    network.stop();
    io.stop();
  });
  spdlog::info("bitsd ready: socket {}, state {}", options.socket, options.state_dir);
  notify_ready();
  // The last line of defence: an exception escaping a handler (std::bad_alloc while an
  // event is sent, say) is logged and the loop goes on instead of ending bitsd.
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      (void)memory_reserve::rearm();
      spdlog::error("event loop: {}; continuing", e.what());
    }
  }
  jobs.set_backend(nullptr);
  jobs.set_listener(nullptr);
  jobs.stop_all();
  notifier.reset();
  watch.reset();
  return 0;
}

// The log on stderr or in the --log file; false when that file cannot be used.
bool start_logging(const Options& options) {
  bool system_instance = !options.user && geteuid() == 0;
  if (!options.log_file.empty()) {
    if (auto problem = open_log_file(options.log_file, system_instance)) {
      std::fprintf(stderr, "bitsd: %s\n", problem->c_str());
      return false;
    }
  }
  setup_logging(options.log_level);
  if (options.log_file.empty() && system_instance) protect_inherited_log();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bitsd: the openbits background transfer daemon"};
  Options options;
  app.add_flag("--user", options.user, "Run a per-user instance (that user's jobs only)");
  app.add_option("--state-dir", options.state_dir, "Directory of the job store");
  app.add_option("--socket", options.socket, "Path of the RPC socket");
  app.add_option("--config", options.config, "JSON configuration file");
  app.add_option("--log", options.log_file,
                 "Append the log to this file (root:adm 0640 for the system instance)");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.set_version_flag("--version", "bitsd 0.1.0");
  CLI11_PARSE(app, argc, argv);

  ignore_terminal_signals();
  leave_session_leadership();
  memory_reserve::install();  // a std::bad_alloc can unwind (memory_reserve.h)
  if (!start_logging(options)) return 1;
  if (!options.user && geteuid() != 0) {
    spdlog::critical("the system instance must run as root; use --user for a per-user daemon");
    return 1;
  }
  apply_default_paths(options);
  return run(options);
}
