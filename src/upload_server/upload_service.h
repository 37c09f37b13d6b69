// The server side of the BITS upload protocol (bits-spec.md §6), independent of sockets: the
// HTTP layer hands it each request's head, streams the body into the returned sink, and
// sends the Response it gets back. Packets: Ping, Create-Session, Fragment, Close-Session,
// Cancel-Session (BITS_POST), plus GET/HEAD of the reply URLs it hands out.
// Thread-safe: requests of any sessions may run concurrently on several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/net/http_message.h"
#include "src/upload_server/config.h"
#include "src/upload_server/root_dir.h"
#include "src/upload_server/session_store.h"

namespace openbits::upload {

inline constexpr const char* kUploadProtocol = "{7df0354d-249b-430f-820d-3d2a9bef4931}";
inline constexpr const char* kReplyPrefix = "/.bits-replies/";

// The HTTP values the service speaks (src/net/http_message.h), by their names here.
using net::BodySink;
using net::CaseInsensitiveLess;
using net::Dispatch;
using net::RequestHead;
using net::Response;

class UploadService {
 public:
  UploadService(const ServerConfig& config, const RootDir& root, SessionStore& sessions)
      : config_(config), root_(root), sessions_(sessions) {}

  Dispatch begin(const RequestHead& head);
  std::size_t expire_sessions();  // BITSSessionTimeout cleanup

 private:
  friend class FragmentSink;

  Response create_session(const RequestHead& head);
  Dispatch fragment(const RequestHead& head);
  Response end_session(const RequestHead& head);
  Response serve_reply(const RequestHead& head);
  Response complete(const std::shared_ptr<Session>& session, const RequestHead& head);
  Response hand_off(const std::shared_ptr<Session>& session, const RequestHead& head);
  // Renames the session's data file to its URL's path; an error Ack on failure.
  std::optional<Response> commit_file(Session& session);
  std::string reply_url(const Session& session, const RequestHead& head) const;
  bool sync_progress(Session& session);  // caller holds session.mutex

  const ServerConfig& config_;
  const RootDir& root_;
  SessionStore& sessions_;
  std::mutex create_mutex_;
};

// The request's Host header if it is a plain host[:port], else "localhost".
std::string request_host(const RequestHead& head);

}  // namespace openbits::upload
