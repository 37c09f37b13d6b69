// The upload path of the transfer engine: the client side of the BITS upload protocol
// (bits-spec §6). One packet at a time per session: Ping then Create-Session (unless the
// job already has a session), then Fragments from what the server acknowledged, each answered with
// the next offset it expects; a plain upload ends with Close-Session. The local file is opened as
// the job owner and checked before every fragment: a change is BG_E_LOCAL_FILE_CHANGED.
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "src/daemon/security/user_open.h"
#include "src/daemon/transfer/http_headers.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon::transfer_detail {
namespace {

constexpr const char* kProtocol = "{7df0354d-249b-430f-820d-3d2a9bef4931}";
constexpr std::uint64_t kMinFragment = 16 * 1024;
// Fragment sizes follow the measured rate (docs/upload-client.md): the first is at most
// kFirstFragment, each next one what the last rate sends in kFragmentTime, at least
// kMinRateFragment and never above the configured largest (upload_fragment_bytes). So a
// fast link pays few Ack round trips, and a crash on a slow one re-sends seconds, not
// minutes, of transfer.
constexpr std::uint64_t kFirstFragment = 1024 * 1024;
constexpr std::uint64_t kMinRateFragment = 256 * 1024;
constexpr std::chrono::milliseconds kFragmentTime{2000};
constexpr int kMaxResends = 3;  // Close/Cancel-Session after a 5xx
// Fragment Acks in a row (200 or 416) that took none of the fragment's bytes; then the
// transfer ends in a transient BG_E_INVALID_SERVER_RESPONSE instead of resending forever.
constexpr int kMaxStalledAcks = 5;
// Bytes of an Ack's body kept: an error Ack's text becomes part of the job's error.
constexpr std::size_t kMaxReasonBody = 256;
// curl's send buffer for a Fragment (its maximum, 2 MiB): each pass of the engine loop
// sends that much, where curl's default 64 KiB made 64 passes per 4 MiB fragment.
constexpr long kSendBuffer = 2L * 1024 * 1024;

using Packet = Transfer::Packet;

size_t on_ack_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->ack.clear();  // a new response (100 Continue, then the Ack)
    t->ack_body.clear();
    t->server_offers = 0;
    t->proxy_offers = 0;
  } else if (note_challenge(*t, line)) {
    // a challenge: for answer_challenge()
  } else if (auto field = split_header_line(line)) {
    t->ack[field->name] = field->value;
  }
  return size * count;
}

// Keeps the first kMaxReasonBody bytes of the Ack's body (the server's explanation).
size_t keep_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  std::size_t room = kMaxReasonBody - std::min(kMaxReasonBody, t->ack_body.size());
  t->ack_body.append(data, std::min(n, room));
  return n;
}

std::string ack_header(const Transfer& t, const char* name) {
  auto it = t.ack.find(name);
  return it == t.ack.end() ? std::string() : it->second;
}

// The HRESULT a failed Ack carries (BITS-Error-Code, or [MC-BUP]'s BITS-Error), if any.
std::optional<HRESULT> ack_error(const Transfer& t) {
  std::string text = ack_header(t, "bits-error-code");
  if (text.empty()) text = ack_header(t, "bits-error");
  auto code = parse_hresult_hex(text);
  if (!code) return std::nullopt;
  return static_cast<HRESULT>(*code);
}

// A non-2xx Ack: the server's HRESULT and context if it gave them, else the HTTP status;
// transient or fatal by the status (bits-spec §2.5), BG_E_TOO_LARGE always fatal.
Failure ack_failure(const Transfer& t, long status) {
  Failure f = classify_http_status(static_cast<int>(status));
  if (auto code = ack_error(t)) f.code = *code;
  std::string context = ack_header(t, "bits-error-context");
  if (!context.empty() && std::strtoul(context.c_str(), nullptr, 16) == 7) {
    f.context = ErrorContext::kRemoteApplication;
  }
  if (f.code == hr::BG_E_TOO_LARGE) f.transient = false;
  f.retry_after_s = 0;
  return f;
}

// Server-sent text as one line of printable ASCII: control characters and other bytes
// become spaces, runs of spaces one, at most `max` characters.
std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text) {
    bool shown = c > 0x20 && c < 0x7F;
    if (!shown && (out.empty() || out.back() == ' ')) continue;
    out.push_back(shown ? c : ' ');
    if (out.size() >= max) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// What the server said about a failed packet: status, BITS-Error-Code, BITS-Error-Context
// and the body's text, for the job's error description.
std::string server_reason(const Transfer& t, long status) {
  std::string reason = "HTTP " + std::to_string(status);
  std::string code = ack_header(t, "bits-error-code");
  if (code.empty()) code = ack_header(t, "bits-error");
  if (!code.empty()) reason += ", BITS-Error-Code " + printable(code, 16);
  std::string context = ack_header(t, "bits-error-context");
  if (!context.empty()) reason += ", BITS-Error-Context " + printable(context, 16);
  std::string body = printable(t.ack_body, kMaxReasonBody);
  if (!body.empty()) reason += ": " + body;
  return reason;
}

// A non-2xx Ack ends the transfer with the server's HRESULT and its reason.
void fail_ack(Transfer& t, long status, std::string why) {
  if (!t.failure) t.server_reason = server_reason(t, status);
  t.fail(ack_failure(t, status), std::move(why));
}

// "<size>:<mtime sec>.<nsec>": what the upload file looked like.
std::string describe(const struct stat& st) {
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

bool local_file_unchanged(Transfer& t) {
  struct stat st {};
  if (::fstat(t.source_fd, &st) != 0 || describe(st) != t.local_validators) {
    t.fail({hr::BG_E_LOCAL_FILE_CHANGED, ErrorContext::kLocalFile, false},
           t.upload().upload_file + " changed during the upload");
    return false;
  }
  return true;
}

// The job's URL with BITS-Host-Id's host, when the session has one.
std::string session_url(const Transfer& t) {
  if (t.host_id.empty()) return t.common().remote_name;
  CURLU* u = curl_url();
  std::string result = t.common().remote_name;
  char* text = nullptr;
  if (curl_url_set(u, CURLUPART_URL, t.common().remote_name.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_HOST, t.host_id.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK) {
    result = text;
  }
  curl_free(text);
  curl_url_cleanup(u);
  return result;
}

// A reply URL relative to the upload URL becomes absolute.
std::string absolute_url(const Transfer& t, const std::string& reply) {
  CURLU* u = curl_url();
  std::string result = reply;
  char* text = nullptr;
  if (curl_url_set(u, CURLUPART_URL, t.upload_url.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, reply.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK) {
    result = text;
  }
  curl_free(text);
  curl_url_cleanup(u);
  return result;
}

// A Fragment's body is read from the upload file straight into curl's send buffer: no
// copy of the whole fragment in memory. A file shorter than it was is
// BG_E_LOCAL_FILE_CHANGED (the read aborts the request; the engine reports t.failure).
size_t read_fragment(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::uint64_t left = t->fragment_length - t->fragment_read;
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size * count, left));
  if (want == 0) return 0;
  std::uint64_t allowed = paced_allowance(*t);
  if (allowed == 0) {  // the engine resumes it when the bucket refills
    t->paced_pause = true;
    return CURL_READFUNC_PAUSE;
  }
  want = static_cast<std::size_t>(std::min<std::uint64_t>(want, allowed));
  ssize_t got =
      ::pread(t->source_fd, data, want, static_cast<off_t>(t->fragment_start + t->fragment_read));
  if (got <= 0) {
    t->fail({hr::BG_E_LOCAL_FILE_CHANGED, ErrorContext::kLocalFile, false},
            "cannot read " + t->upload().upload_file);
    return CURL_READFUNC_ABORT;
  }
  t->fragment_read += static_cast<std::uint64_t>(got);
  paced_consume(*t, static_cast<std::uint64_t>(got));
  return static_cast<size_t>(got);
}

// curl rewinds the body when it must send it again (an authentication round).
int seek_fragment(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t->fragment_length) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->fragment_read = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// The fragment [t.offset, t.offset + length) as the request body; the kernel is asked to
// read the next fragment ahead while this one is in flight.
void start_fragment_body(Transfer& t, std::uint64_t length) {
  t.fragment_start = t.offset;
  t.fragment_length = length;
  t.fragment_read = 0;
  t.fragment_sent = std::chrono::steady_clock::now();
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_READFUNCTION, read_fragment);
  curl_easy_setopt(e, CURLOPT_READDATA, &t);
  curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_fragment);
  curl_easy_setopt(e, CURLOPT_SEEKDATA, &t);
  curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, kSendBuffer);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(length));
  std::uint64_t next = t.offset + length;
  if (next < t.upload_size) {
    ::posix_fadvise(t.source_fd, static_cast<off_t>(next),
                    static_cast<off_t>(std::min(t.fragment_size, t.upload_size - next)),
                    POSIX_FADV_WILLNEED);
  }
}

bool send_packet(Transfer& t, CURLM* multi, Packet packet) {
  t.packet = packet;
  t.ack.clear();
  t.ack_body.clear();
  if (!t.easy) t.easy = curl_easy_init();
  if (!t.easy) return false;
  CURL* e = t.easy;
  curl_easy_reset(e);
  t.upload_url = session_url(t);
  curl_easy_setopt(e, CURLOPT_URL, t.upload_url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "BITS_POST");
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_ack_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  if (t.headers) {
    curl_slist_free_all(t.headers);
    t.headers = nullptr;
  }
  auto add = [&t](const std::string& header) {
    t.headers = curl_slist_append(t.headers, header.c_str());
  };
  add("Content-Type:");  // no form encoding
  add("Expect:");        // one packet at a time anyway
  std::string name = t.upload().upload_file.substr(t.upload().upload_file.rfind('/') + 1);
  switch (packet) {
    case Packet::kPing:  // opens the connection and settles authentication cheaply
      add("BITS-Packet-Type: Ping");
      break;
    case Packet::kCreateSession:
      add("BITS-Packet-Type: Create-Session");
      add(std::string("BITS-Supported-Protocols: ") + kProtocol);
      add("Content-Name: " + name);
      break;
    case Packet::kFragment: {
      std::uint64_t length = std::min({t.next_fragment, t.fragment_size, t.upload_size - t.offset});
      start_fragment_body(t, length);
      add("BITS-Packet-Type: Fragment");
      add("BITS-Session-Id: " + t.session_id);
      if (t.offset == 0) add("Content-Name: " + name);
      add("Content-Range: bytes " + std::to_string(t.offset) + "-" +
          std::to_string(t.offset + length - 1) + "/" + std::to_string(t.upload_size));
      break;
    }
    case Packet::kCloseSession:
      add("BITS-Packet-Type: Close-Session");
      add("BITS-Session-Id: " + t.session_id);
      break;
    case Packet::kCancelSession:
      add("BITS-Packet-Type: Cancel-Session");
      add("BITS-Session-Id: " + t.session_id);
      break;
  }
  const std::string& custom = t.common().custom_headers;
  for (std::size_t start = 0; start < custom.size();) {
    std::size_t end = custom.find("\r\n", start);
    if (end == std::string::npos) end = custom.size();
    if (end > start) add(custom.substr(start, end - start));
    start = end + 2;
  }
  if (!set_common_options(t, t.headers)) return false;
  if (packet != Packet::kFragment) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
  }
  return curl_multi_add_handle(multi, e) == CURLM_OK;
}

// The next packet after an acknowledged offset; false when the transfer is over.
bool continue_from(Transfer& t, CURLM* multi, std::uint64_t next) {
  if (next > t.upload_size) {
    t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, true},
           "the server acknowledged more bytes than the file has");
    return false;
  }
  if (next != t.synced) {
    t.offset = t.synced = next;
    t.observer->on_progress(t.token, next);
  }
  t.offset = next;
  if (next < t.upload_size) {
    if (!local_file_unchanged(t)) return false;
    return send_packet(t, multi, Packet::kFragment);
  }
  std::string reply = ack_header(t, "bits-reply-url");
  if (t.upload().want_reply && reply.empty()) {
    t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, false},
           "the last Ack of an upload-reply job has no BITS-Reply-URL");
    return false;
  }
  t.observer->on_upload_sent(t.token, reply.empty() ? reply : absolute_url(t, reply));
  if (t.upload().want_reply) {
    t.observer->on_complete(t.token, t.upload_size, 0);
    return false;
  }
  return send_packet(t, multi, Packet::kCloseSession);
}

// Ping: a 2xx Ack goes on to Create-Session; a failure is the server's (with its HRESULT
// when it gave one), as for any other packet.
bool after_ping(Transfer& t, CURLM* multi, long status) {
  if (status / 100 != 2) {
    fail_ack(t, status, "Ping: HTTP status " + std::to_string(status));
    return false;
  }
  return send_packet(t, multi, Packet::kCreateSession);
}

bool after_create_session(Transfer& t, CURLM* multi, long status) {
  std::string session = ack_header(t, "bits-session-id");
  std::string protocol = ack_header(t, "bits-protocol");
  if ((status != 200 && status != 201) || session.empty() ||
      (!protocol.empty() && strcasecmp(protocol.c_str(), kProtocol) != 0)) {
    if (status / 100 == 2) {
      t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, false},
             "Create-Session was not acknowledged with a session and our protocol");
    } else {
      fail_ack(t, status, "Create-Session: HTTP status " + std::to_string(status));
    }
    return false;
  }
  t.session_id = session;
  t.host_id = ack_header(t, "bits-host-id");
  std::uint32_t fallback = 0xFFFFFFFFu;  // absent: never fall back (bits-spec §6.4)
  if (auto s = parse_number(ack_header(t, "bits-host-id-fallback-timeout"))) {
    fallback = static_cast<std::uint32_t>(std::min<std::uint64_t>(*s, 0xFFFFFFFEu));
  }
  t.observer->on_upload_session(t.token, t.session_id, t.host_id, fallback, t.local_validators);
  t.synced = 0;
  t.offset = 0;
  announce(t);
  return continue_from(t, multi, 0);
}

// A 200 or 416 Fragment Ack: go on from the offset the server expects, unless it took no
// byte of kMaxStalledAcks fragments in a row.
// The next fragment's length: what the rate of the one just acknowledged sends in
// kFragmentTime, within [kMinRateFragment, fragment_size].
void size_next_fragment(Transfer& t, std::uint64_t acknowledged) {
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - t.fragment_sent);
  auto micros = static_cast<double>(std::max<std::int64_t>(took.count(), 1));
  double per_target = static_cast<double>(acknowledged) / micros *
                      static_cast<double>(std::chrono::microseconds(kFragmentTime).count());
  std::uint64_t floor = std::min(kMinRateFragment, t.fragment_size);
  t.next_fragment = per_target >= static_cast<double>(t.fragment_size)
                        ? t.fragment_size
                        : std::max(floor, static_cast<std::uint64_t>(per_target));
}

bool after_range_ack(Transfer& t, CURLM* multi, long status, std::uint64_t next) {
  t.stalled_acks = next > t.fragment_start ? 0 : t.stalled_acks + 1;
  if (next > t.fragment_start) size_next_fragment(t, next - t.fragment_start);
  if (t.stalled_acks >= kMaxStalledAcks) {
    t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, true},
           "the server took no byte of " + std::to_string(kMaxStalledAcks) +
               " fragments in a row (HTTP " + std::to_string(status) +
               ", BITS-Received-Content-Range " + std::to_string(next) + ")");
    return false;
  }
  announce(t);
  return continue_from(t, multi, next);
}

bool after_fragment(Transfer& t, CURLM* multi, long status) {
  auto error = ack_error(t);
  if (error && *error == hr::BG_E_SESSION_NOT_FOUND) {
    // The server lost the session: a new one, from byte 0.
    if (++t.restarts > kMaxRestarts) {
      t.fail({hr::BG_E_SESSION_NOT_FOUND, ErrorContext::kRemoteFile, true},
             "the server keeps losing the upload session");
      return false;
    }
    t.session_id.clear();
    t.host_id.clear();
    t.observer->on_progress(t.token, 0);
    t.synced = t.offset = 0;
    return send_packet(t, multi, Packet::kPing);
  }
  if (status == 413 && !(error && *error == hr::BG_E_TOO_LARGE)) {
    if (t.fragment_size / 2 < kMinFragment) {
      fail_ack(t, status, "the server refuses even small fragments");
      return false;
    }
    t.fragment_size /= 2;  // the server wants smaller fragments
    t.next_fragment = std::min(t.next_fragment, t.fragment_size);
    return send_packet(t, multi, Packet::kFragment);
  }
  auto next = parse_number(ack_header(t, "bits-received-content-range"));
  if ((status == 200 || status == 201 || status == 416) && next) {
    return after_range_ack(t, multi, status, *next);
  }
  if (status / 100 == 2) {
    t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, true},
           "a Fragment Ack without BITS-Received-Content-Range");
  } else {
    fail_ack(t, status, "Fragment: HTTP status " + std::to_string(status));
  }
  return false;
}

// Close-Session / Cancel-Session: resent on 5xx (unless the session is gone), never on
// other statuses; either way the transfer then ends.
bool after_session_end(Transfer& t, CURLM* multi, long status) {
  auto error = ack_error(t);
  bool gone = error && *error == hr::BG_E_SESSION_NOT_FOUND;
  if (status / 100 == 5 && !gone && ++t.resends <= kMaxResends) {
    return send_packet(t, multi, t.packet);
  }
  t.observer->on_complete(t.token, t.upload_size, 0);
  return false;
}

}  // namespace

bool begin_upload(Transfer& t, CURLM* multi) {
  t.phase = Transfer::Phase::kUpload;
  t.session_id = t.upload().session_id;
  t.host_id = t.upload().host_id;
  t.fragment_size = std::max(kMinFragment, t.upload().fragment_size);
  t.next_fragment = std::min(t.fragment_size, kFirstFragment);
  if (t.upload().kind == UploadKind::kCloseSession ||
      t.upload().kind == UploadKind::kCancelSession) {
    bool close = t.upload().kind == UploadKind::kCloseSession;
    return send_packet(t, multi, close ? Packet::kCloseSession : Packet::kCancelSession);
  }
  RegularFile source;
  {
    ScopedFsCredentials as_owner(t.common().owner);
    if (!as_owner.ok()) {
      t.fail({hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false}, "cannot assume the owner");
      return false;
    }
    // A terminal, device or FIFO swapped in since AddFile is refused before it is opened.
    source = open_regular_file(AT_FDCWD, t.upload().upload_file);
  }
  t.source_fd = source.fd;
  if (t.source_fd < 0 && !source.not_regular) {
    Failure f = classify_local_errno(source.error);
    if (source.error == ENOENT) f.code = hr::FILE_NOT_FOUND;
    t.fail(f, "cannot open " + t.upload().upload_file + ": " + std::strerror(source.error));
    return false;
  }
  struct stat st {};
  if (source.not_regular || ::fstat(t.source_fd, &st) != 0) {
    t.fail({hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false},
           t.upload().upload_file + " is not a regular file");
    return false;
  }
  t.local_validators = describe(st);
  if (!t.upload().local_validators.empty() && t.upload().local_validators != t.local_validators) {
    t.fail({hr::BG_E_LOCAL_FILE_CHANGED, ErrorContext::kLocalFile, false},
           t.upload().upload_file + " changed since the upload began");
    return false;
  }
  t.upload_size = static_cast<std::uint64_t>(st.st_size);
  t.total = t.upload_size;
  t.seen.size = t.upload_size;
  t.synced = t.offset = std::min(t.upload().acknowledged_bytes, t.upload_size);
  if (t.session_id.empty()) return send_packet(t, multi, Packet::kPing);
  // A session from before (a restart): the server answers with where to go on from.
  t.observer->on_upload_session(t.token, t.session_id, t.host_id, 0xFFFFFFFFu, t.local_validators);
  return send_packet(t, multi, Packet::kFragment);
}

bool after_upload_packet(Transfer& t, CURLM* multi, CURLcode code) {
  // 401 / 407: the same packet again with the job's credentials, once.
  if (Challenge c = answer_challenge(t, final_status(t)); c != Challenge::kNone) {
    return c == Challenge::kRetry && send_packet(t, multi, t.packet);
  }
  if (code != CURLE_OK) {
    Failure f = connection_failure(t, code);
    t.fail(f, std::string(t.packet == Packet::kFragment ? "Fragment: " : "BITS_POST: ") +
                  curl_easy_strerror(code));
    return false;
  }
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  switch (t.packet) {
    case Packet::kPing:
      return after_ping(t, multi, status);
    case Packet::kCreateSession:
      return after_create_session(t, multi, status);
    case Packet::kFragment:
      return after_fragment(t, multi, status);
    case Packet::kCloseSession:
    case Packet::kCancelSession:
      return after_session_end(t, multi, status);
  }
  return false;
}

}  // namespace openbits::daemon::transfer_detail
