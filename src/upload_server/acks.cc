#include "src/upload_server/acks.h"

#include <cstdio>

namespace openbits::upload {

Response ack(unsigned status, const std::string& session_id) {
  Response response;
  response.status = status;
  response.headers.emplace_back("BITS-Packet-Type", "Ack");
  if (!session_id.empty()) response.headers.emplace_back("BITS-Session-Id", session_id);
  return response;
}

Response error_ack(unsigned status, std::uint32_t code, unsigned context,
                   const std::string& session_id) {
  Response response = ack(status, session_id);
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", code);
  response.headers.emplace_back("BITS-Error-Code", text);
  std::snprintf(text, sizeof text, "0x%X", context);
  response.headers.emplace_back("BITS-Error-Context", text);
  return response;
}

Response error_ack_because(unsigned status, std::uint32_t code, const std::string& reason,
                           const std::string& session_id) {
  Response response = error_ack(status, code, kContextServer, session_id);
  response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  response.body = reason + "\n";
  return response;
}

Response fragment_ack(unsigned status, const std::string& session_id, std::uint64_t received) {
  Response response = ack(status, session_id);
  response.headers.emplace_back("BITS-Received-Content-Range", std::to_string(received));
  return response;
}

}  // namespace openbits::upload
