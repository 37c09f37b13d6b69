// Challenge parsing and credential choice; see http_auth.h.
#include "src/daemon/transfer/http_auth.h"

#include <strings.h>

#include <string>

namespace openbits::daemon {
namespace {

unsigned bit(AuthScheme scheme) { return 1u << static_cast<int>(scheme); }

std::optional<AuthScheme> scheme_named(std::string_view token) {
  struct Name {
    const char* text;
    AuthScheme scheme;
  };
  static constexpr Name kNames[] = {{"basic", AuthScheme::kBasic},
                                    {"digest", AuthScheme::kDigest},
                                    {"ntlm", AuthScheme::kNtlm},
                                    {"negotiate", AuthScheme::kNegotiate},
                                    {"passport1.4", AuthScheme::kPassport}};
  for (const Name& n : kNames) {
    if (token.size() == std::char_traits<char>::length(n.text) &&
        strncasecmp(token.data(), n.text, token.size()) == 0) {
      return n.scheme;
    }
  }
  return std::nullopt;
}

// Splits at commas outside quoted strings.
std::vector<std::string_view> split_items(std::string_view value) {
  std::vector<std::string_view> items;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      items.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  items.push_back(value.substr(std::min(start, value.size())));
  return items;
}

bool implicit(const HttpCredential& c) { return !c.user_name.has_value(); }

// Whether credential `c` can answer `scheme`.
bool answers(const HttpCredential& c, AuthScheme scheme) {
  switch (scheme) {
    case AuthScheme::kNegotiate:
      return c.scheme == AuthScheme::kNegotiate || (c.scheme == AuthScheme::kNtlm && implicit(c));
    case AuthScheme::kNtlm:
      return !implicit(c) && (c.scheme == AuthScheme::kNtlm || c.scheme == AuthScheme::kNegotiate);
    case AuthScheme::kDigest:
    case AuthScheme::kBasic:
      return c.scheme == scheme;
    default:
      return false;  // PASSPORT: never answered
  }
}

}  // namespace

unsigned offered_schemes(std::string_view challenges) {
  unsigned offered = 0;
  for (std::string_view item : split_items(challenges)) {
    std::size_t begin = item.find_first_not_of(" \t");
    if (begin == std::string_view::npos) continue;
    item.remove_prefix(begin);
    std::string_view token = item.substr(0, item.find_first_of(" \t="));
    if (token.size() < item.size() && item[token.size()] == '=') continue;  // a parameter
    if (auto scheme = scheme_named(token)) offered |= bit(*scheme);
  }
  return offered;
}

std::optional<AuthChoice> choose_credential(unsigned offered,
                                            const std::vector<HttpCredential>& credentials,
                                            AuthTarget target) {
  bool explicit_server = false;
  for (const HttpCredential& c : credentials) {
    explicit_server = explicit_server || (c.target == AuthTarget::kServer && !implicit(c));
  }
  auto usable = [&](const HttpCredential& c) {
    if (c.target == target) return true;
    // Implicit proxy credentials also serve the server, unless it has explicit ones.
    return target == AuthTarget::kServer && c.target == AuthTarget::kProxy && implicit(c) &&
           !explicit_server;
  };
  for (AuthScheme scheme :
       {AuthScheme::kNegotiate, AuthScheme::kNtlm, AuthScheme::kDigest, AuthScheme::kBasic}) {
    if ((offered & bit(scheme)) == 0) continue;
    // The job's own slot for this scheme first, then any other that can answer it.
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t i = 0; i < credentials.size(); ++i) {
        const HttpCredential& c = credentials[i];
        bool exact = c.scheme == scheme && c.target == target;
        if ((pass == 0) != exact || !usable(c) || !answers(c, scheme)) continue;
        return AuthChoice{scheme, i};
      }
    }
  }
  return std::nullopt;
}

}  // namespace openbits::daemon
