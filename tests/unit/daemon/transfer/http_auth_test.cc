// Which schemes a challenge offers and which SetCredentials slot answers it.
#include "src/daemon/transfer/http_auth.h"

#include <gtest/gtest.h>

namespace openbits::daemon {
namespace {

unsigned bit(AuthScheme s) { return 1u << static_cast<int>(s); }

HttpCredential explicit_cred(AuthTarget target, AuthScheme scheme) {
  return {target, scheme, std::string("user"), std::string("secret"), ""};
}
HttpCredential implicit_cred(AuthTarget target, AuthScheme scheme) {
  return {target, scheme, std::nullopt, std::nullopt, "FILE:/tmp/krb5cc_1000"};
}

TEST(HttpAuthTest, OfferedSchemesReadsEveryChallengeOfAHeader) {
  EXPECT_EQ(offered_schemes("Basic realm=\"files\""), bit(AuthScheme::kBasic));
  EXPECT_EQ(offered_schemes("Digest realm=\"a, b\", nonce=\"x\", qop=\"auth\", Basic realm=\"a\""),
            bit(AuthScheme::kDigest) | bit(AuthScheme::kBasic));
  EXPECT_EQ(offered_schemes("NTLM"), bit(AuthScheme::kNtlm));
  EXPECT_EQ(offered_schemes("negotiate"), bit(AuthScheme::kNegotiate));
  EXPECT_EQ(offered_schemes("Negotiate oYGCMIGLoAMKAQ=="), bit(AuthScheme::kNegotiate));
  EXPECT_EQ(offered_schemes("Passport1.4 srealm=x"), bit(AuthScheme::kPassport));
}

TEST(HttpAuthTest, OfferedSchemesIgnoresParametersAndUnknownSchemes) {
  EXPECT_EQ(offered_schemes("Bearer realm=\"api\", error=\"invalid_token\""), 0u);
  EXPECT_EQ(offered_schemes("Basic=x"), 0u);  // a parameter named Basic
  EXPECT_EQ(offered_schemes(""), 0u);
  EXPECT_EQ(offered_schemes(", ,"), 0u);
  EXPECT_EQ(offered_schemes("\"Basic\""), 0u);
}

TEST(HttpAuthTest, NothingAnswersWithoutAMatchingSlot) {
  std::vector<HttpCredential> creds = {explicit_cred(AuthTarget::kServer, AuthScheme::kBasic)};
  EXPECT_FALSE(choose_credential(bit(AuthScheme::kDigest), creds, AuthTarget::kServer));
  EXPECT_FALSE(choose_credential(bit(AuthScheme::kBasic), creds, AuthTarget::kProxy));
  EXPECT_FALSE(choose_credential(0, creds, AuthTarget::kServer));
}

TEST(HttpAuthTest, StrongestOfferedSchemeWithCredentialsWins) {
  std::vector<HttpCredential> creds = {explicit_cred(AuthTarget::kServer, AuthScheme::kBasic),
                                       explicit_cred(AuthTarget::kServer, AuthScheme::kDigest)};
  auto choice = choose_credential(bit(AuthScheme::kBasic) | bit(AuthScheme::kDigest), creds,
                                  AuthTarget::kServer);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->scheme, AuthScheme::kDigest);
  EXPECT_EQ(choice->credential, 1u);
}

TEST(HttpAuthTest, ProxyChallengesUseProxySlotsOnly) {
  std::vector<HttpCredential> creds = {explicit_cred(AuthTarget::kServer, AuthScheme::kBasic),
                                       explicit_cred(AuthTarget::kProxy, AuthScheme::kBasic)};
  auto choice = choose_credential(bit(AuthScheme::kBasic), creds, AuthTarget::kProxy);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->credential, 1u);
}

TEST(HttpAuthTest, ImplicitCredentialsAnswerNegotiateButNeverNtlm) {
  std::vector<HttpCredential> creds = {implicit_cred(AuthTarget::kServer, AuthScheme::kNtlm)};
  auto choice = choose_credential(bit(AuthScheme::kNegotiate) | bit(AuthScheme::kNtlm), creds,
                                  AuthTarget::kServer);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->scheme, AuthScheme::kNegotiate);
  EXPECT_FALSE(choose_credential(bit(AuthScheme::kNtlm), creds, AuthTarget::kServer));
}

TEST(HttpAuthTest, ExplicitNegotiateCredentialsFallBackToNtlm) {
  std::vector<HttpCredential> creds = {explicit_cred(AuthTarget::kServer, AuthScheme::kNegotiate)};
  auto choice = choose_credential(bit(AuthScheme::kNtlm), creds, AuthTarget::kServer);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->scheme, AuthScheme::kNtlm);
}

TEST(HttpAuthTest, PassportIsNeverAnswered) {
  std::vector<HttpCredential> creds = {explicit_cred(AuthTarget::kServer, AuthScheme::kPassport)};
  EXPECT_FALSE(choose_credential(bit(AuthScheme::kPassport), creds, AuthTarget::kServer));
}

TEST(HttpAuthTest, ImplicitProxyCredentialsServeTheServerUnlessItHasExplicitOnes) {
  std::vector<HttpCredential> creds = {implicit_cred(AuthTarget::kProxy, AuthScheme::kNegotiate)};
  auto choice = choose_credential(bit(AuthScheme::kNegotiate), creds, AuthTarget::kServer);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->credential, 0u);
  creds.push_back(explicit_cred(AuthTarget::kServer, AuthScheme::kBasic));
  EXPECT_FALSE(choose_credential(bit(AuthScheme::kNegotiate), creds, AuthTarget::kServer));
  // Explicit proxy credentials never go to the server.
  std::vector<HttpCredential> proxy_only = {explicit_cred(AuthTarget::kProxy, AuthScheme::kBasic)};
  EXPECT_FALSE(choose_credential(bit(AuthScheme::kBasic), proxy_only, AuthTarget::kServer));
}

}  // namespace
}  // namespace openbits::daemon
