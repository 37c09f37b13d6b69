// HTTP authentication with SetCredentials (bits-spec §1.3, §3.6): which schemes a challenge
// (WWW-Authenticate / Proxy-Authenticate) offers, and which of the job's credentials
// answers it. Credentials are sent only after a challenge that offers their scheme, and
// a challenge is answered once: the 401 (407) that follows is the job's error.
//
// Preference when several are offered: Negotiate, NTLM, Digest, Basic. Implicit
// credentials (no user name) are the owner's Kerberos tickets: they answer Negotiate
// (whether set for NEGOTIATE or NTLM). Explicit NEGOTIATE credentials answer Negotiate
// (Kerberos with that password) and, like SPNEGO's fallback, NTLM. PASSPORT is accepted by
// SetCredentials but never answered (the service is gone): such a challenge stays a 401.
// Implicit proxy credentials also answer the server unless the job has explicit server
// credentials. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "src/daemon/transfer/transfer_engine.h"

namespace openbits::daemon {

// Bit (1 << scheme) for each scheme named by the challenges in one header value, e.g.
// `Digest realm="a", nonce="b", Basic realm="a"` -> DIGEST and BASIC.
unsigned offered_schemes(std::string_view challenges);

struct AuthChoice {
  AuthScheme scheme = AuthScheme::kBasic;  // the scheme to answer with
  std::size_t credential = 0;              // index into the request's credentials
};

// The credential that answers a challenge offering `offered` for `target`, if any.
std::optional<AuthChoice> choose_credential(unsigned offered,
                                            const std::vector<HttpCredential>& credentials,
                                            AuthTarget target);

}  // namespace openbits::daemon
