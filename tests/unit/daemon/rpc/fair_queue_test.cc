// FairQueue: uids take turns whatever their number of busy connections; one turn per
// connection at a time; a closed connection's turn is forgotten.
#include "src/daemon/rpc/fair_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace openbits::daemon {
namespace {

std::vector<std::uint64_t> drain(FairQueue& queue) {
  std::vector<std::uint64_t> order;
  while (auto next = queue.pop()) order.push_back(*next);
  return order;
}

TEST(FairQueueTest, UidsTakeTurnsWhateverTheirNumberOfConnections) {
  FairQueue queue;
  for (std::uint64_t c = 1; c <= 4; ++c) queue.push(65534, c);  // the flood
  queue.push(0, 10);                                            // then root, once
  queue.push(1000, 20);
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{1, 10, 20, 2, 3, 4}));
}

TEST(FairQueueTest, AUidThatComesBackWaitsBehindTheOthers) {
  FairQueue queue;
  queue.push(65534, 1);
  queue.push(65534, 2);
  EXPECT_EQ(queue.pop(), 1u);
  queue.push(0, 10);     // arrives while the flood is served
  queue.push(65534, 1);  // the served connection has its next request
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{2, 10, 1}));
}

TEST(FairQueueTest, AConnectionHasOneTurnAtATime) {
  FairQueue queue;
  queue.push(7, 1);
  queue.push(7, 1);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(queue.empty());
}

TEST(FairQueueTest, RemovedConnectionsLoseTheirTurn) {
  FairQueue queue;
  queue.push(7, 1);
  queue.push(8, 2);
  queue.push(7, 3);
  queue.remove(1);
  queue.remove(2);  // uid 8 had nothing else: it leaves the round
  queue.remove(99);
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{3}));
}

}  // namespace
}  // namespace openbits::daemon
