// RPC wire conventions (src/protocol/rpc.h): a BITS failure's HRESULT travels as the
// JSON-RPC error code reinterpreted as a signed 32-bit number and comes back unchanged.
#include "src/protocol/rpc.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace openbits::rpc {
namespace {

TEST(RpcErrorCode, FailureHresultsBecomeNegativeCodesAndComeBackUnchanged) {
  HRESULT not_found = hr::kHttpFacilityBase + 404;  // 0x80190194
  EXPECT_EQ(error_code_for(not_found), -2145844844);
  EXPECT_LT(error_code_for(not_found), 0);
  for (HRESULT code : {hr::S_OK, hr::S_FALSE, hr::E_FAIL, hr::E_PENDING, not_found,
                       HRESULT{0xFFFFFFFFu}, HRESULT{0x80000000u}}) {
    EXPECT_EQ(hresult_for(error_code_for(code)), code) << std::hex << code;
  }
}

TEST(RpcErrorCode, ReservedJsonRpcCodesSurviveTheHresultMapping) {
  for (int code : {kParseError, kInvalidRequest, kMethodNotFound, kInvalidParams, kInternalError}) {
    EXPECT_EQ(error_code_for(hresult_for(code)), code);
  }
}

}  // namespace
}  // namespace openbits::rpc
