// bits-upload-server: the server side of the BITS upload protocol (bits-spec.md §6).
//   bits-upload-server --listen ADDR:PORT --root DIR [--config FILE]
//                      [--tls-cert FILE --tls-key FILE] [--log-level LEVEL]
// Prints "listening on ADDR:PORT" on stdout once it accepts connections.
#include <curl/curl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <iostream>
#include <thread>
#include <utility>
#include <vector>

#include "src/common/asio.h"
#include "src/upload_server/config.h"
#include "src/upload_server/http_server.h"
#include "src/upload_server/root_dir.h"
#include "src/upload_server/session_store.h"
#include "src/upload_server/upload_service.h"

namespace {

namespace asio = boost::asio;
using namespace openbits::upload;
using openbits::ErrorContext;
using openbits::Result;
using openbits::Status;
namespace hr = openbits::hr;

struct Options {
  std::string listen;
  std::string root;
  std::string config;
  std::string tls_cert;
  std::string tls_key;
  std::string log_level = "info";
};

int fail(const openbits::Status& status) {
  std::cerr << "bits-upload-server: " << status.message() << "\n";
  return 1;
}

Status load_tls(asio::ssl::context& tls, const Options& options) {
  boost::system::error_code ec;
  tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  tls.use_certificate_chain_file(options.tls_cert, ec);
  if (!ec) tls.use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
  if (!ec) return Status();
  return Status(hr::E_FAIL, ErrorContext::kLocalFile, "TLS certificate or key: " + ec.message());
}

Result<ServerConfig> load_config_option(const Options& options) {
  if (options.config.empty()) return ServerConfig();
  return load_config(options.config);
}

int run(const Options& options) {
  auto config = load_config_option(options);
  if (!config.ok()) return fail(config.status());
  auto root = RootDir::open(options.root);
  if (!root.ok()) return fail(root.status());
  SessionStore sessions(*root);
  if (Status opened = sessions.open(); !opened.ok()) return fail(opened);
  UploadService service(*config, *root, sessions);

  asio::io_context io(static_cast<int>(config->threads));
  asio::ssl::context tls(asio::ssl::context::tls_server);
  bool use_tls = !options.tls_cert.empty();
  if (use_tls) {
    if (Status loaded = load_tls(tls, options); !loaded.ok()) return fail(loaded);
  }
  HttpServer server(io, service, *config, use_tls ? &tls : nullptr);
  if (Status listening = server.listen(options.listen); !listening.ok()) {
    // A malformed address is the option's fault; a failed bind names the address itself.
    if (listening.code() != hr::E_INVALIDARG) return fail(listening);
    return fail(std::move(listening).with_context(ErrorContext::kNone, "--listen"));
  }
  server.start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const boost::system::error_code&, int) { io.stop(); });
  std::cout << "listening on " << server.local_address() << std::endl;
  spdlog::info("bits-upload-server: root {}, {} on {}", root->path(), use_tls ? "https" : "http",
               server.local_address());

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < config->threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();
  return 0;
}

int parse_and_run(int argc, char** argv) {
  Options options;
  CLI::App app{"bits-upload-server: server side of the BITS upload protocol"};
  app.add_option("--listen", options.listen, "ADDR:PORT to listen on")->required();
  app.add_option("--root", options.root, "directory that receives the uploads")->required();
  app.add_option("--config", options.config, "JSON settings (docs/upload-server.md)");
  auto* cert = app.add_option("--tls-cert", options.tls_cert, "PEM certificate chain: HTTPS");
  auto* key = app.add_option("--tls-key", options.tls_key, "PEM private key");
  cert->needs(key);
  key->needs(cert);
  app.add_option("--log-level", options.log_level,
                 "trace, debug (a line per Fragment), info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_default_logger(spdlog::stderr_color_mt("bits-upload-server"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int code = run(options);
  curl_global_cleanup();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return parse_and_run(argc, argv);
  } catch (const std::exception& error) {
    std::fputs(error.what(), stderr);
  } catch (...) {
    std::fputs("bits-upload-server: unexpected exception\n", stderr);
  }
  return 1;
}
