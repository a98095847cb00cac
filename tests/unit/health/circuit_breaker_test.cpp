#include <gtest/gtest.h>

#include "llm_router/health/circuit_breaker.hpp"

namespace llm_router::health {
namespace {

constexpr Nanos kMs = 1'000'000;

BreakerSettings settings() {
  BreakerSettings s;
  s.failure_threshold = 3;
  s.window = std::chrono::milliseconds(1000);
  s.base_cooldown = std::chrono::milliseconds(100);
  s.max_cooldown = std::chrono::milliseconds(350);
  return s;
}

TEST(CircuitBreaker, OpensAfterThresholdFailuresWithinTheWindow) {
  CircuitBreaker b(settings());
  Nanos t = 10 * kMs;
  b.record_failure(t);
  b.record_failure(t + kMs);
  EXPECT_TRUE(b.allow(t + 2 * kMs));
  b.record_failure(t + 2 * kMs);
  EXPECT_EQ(b.state(t + 3 * kMs), BreakerState::open);
  EXPECT_FALSE(b.allow(t + 3 * kMs));
  EXPECT_EQ(b.open_until(), t + 2 * kMs + 100 * kMs);
}

TEST(CircuitBreaker, FailuresSpreadBeyondTheWindowDoNotOpenIt) {
  CircuitBreaker b(settings());
  b.record_failure(10 * kMs);
  b.record_failure(20 * kMs);
  b.record_failure(2000 * kMs);  // a new window starts
  EXPECT_EQ(b.state(2001 * kMs), BreakerState::closed);
}

TEST(CircuitBreaker, FailuresAmongSuccessesOpenItAtTheFailureRate) {
  CircuitBreaker b(settings());  // 3 failures, at least half of the window's results
  Nanos t = 10 * kMs;
  for (int round = 0; round < 2; ++round) {
    b.record_failure(t += kMs);
    b.record_success(t += kMs);
  }
  EXPECT_EQ(b.state(t), BreakerState::closed);  // 2 failures of 4
  b.record_failure(t += kMs);                   // 3 of 5
  EXPECT_EQ(b.state(t + kMs), BreakerState::open);
}

TEST(CircuitBreaker, AFewFailuresAmongManySuccessesDoNotOpenIt) {
  CircuitBreaker b(settings());
  Nanos t = 10 * kMs;
  for (int k = 0; k < 20; ++k) b.record_success(t += kMs);
  for (int k = 0; k < 5; ++k) b.record_failure(t += kMs);
  EXPECT_EQ(b.state(t + kMs), BreakerState::closed);  // 5 of 25
  for (int k = 0; k < 15; ++k) b.record_failure(t += kMs);
  EXPECT_EQ(b.state(t + kMs), BreakerState::open);  // 20 of 40
}

// The window slides: a busy backend's successes of the last window still count when a few
// failures come just after a window's length has passed since the first result (a window that
// emptied itself every 10 s ejected such a backend).
TEST(CircuitBreaker, TheWindowSlidesOverTheLastResults) {
  CircuitBreaker b(settings());  // 1 s window
  Nanos t = 10 * kMs;
  for (int k = 0; k < 98; ++k) b.record_success(t += 10 * kMs);  // up to 990 ms
  for (int k = 0; k < 5; ++k) b.record_failure(1050 * kMs + k * kMs);
  EXPECT_EQ(b.state(1060 * kMs), BreakerState::closed);  // 5 of ~90
  // Once those successes have left the window, failures are all there is.
  for (int k = 0; k < 3; ++k) b.record_failure(2100 * kMs + k * kMs);
  EXPECT_EQ(b.state(2110 * kMs), BreakerState::open);
}

// A reload's settings reach a breaker that already has a state: the next results are judged
// by the new threshold, and the next ejection lasts the new cooldown.
TEST(CircuitBreaker, NewSettingsApplyToTheLiveBreaker) {
  BreakerSettings loose = settings();
  loose.failure_threshold = 1000;
  CircuitBreaker b(loose);
  for (int k = 0; k < 5; ++k) b.record_failure(10 * kMs + k * kMs);
  EXPECT_EQ(b.state(20 * kMs), BreakerState::closed);
  BreakerSettings tight = settings();
  tight.base_cooldown = std::chrono::milliseconds(40);
  b.configure(tight);
  EXPECT_EQ(b.settings().failure_threshold, 3);
  b.record_failure(21 * kMs);
  EXPECT_EQ(b.state(22 * kMs), BreakerState::open);
  EXPECT_EQ(b.open_until(), 21 * kMs + 40 * kMs);
  b.reset();  // the backend's name now stands for another server
  EXPECT_EQ(b.state(23 * kMs), BreakerState::closed);
  EXPECT_EQ(b.ejections(), 0);
  b.record_failure(24 * kMs);
  EXPECT_EQ(b.state(25 * kMs), BreakerState::closed);  // its old failures are forgotten
}

// A half-open trial that streams: its first content closes the circuit at once, not when its
// answer ends minutes later; an attempt begun before the circuit opened decides nothing.
TEST(CircuitBreaker, ATrialsFirstContentClosesIt) {
  CircuitBreaker b(settings());
  for (int i = 0; i < 3; ++i) b.record_failure(10 * kMs);
  EXPECT_FALSE(b.record_commit(5 * kMs));
  const Nanos after = 10 * kMs + 101 * kMs;
  ASSERT_TRUE(b.allow(after));
  EXPECT_TRUE(b.record_commit(after));
  EXPECT_EQ(b.state(after + 21 * kMs), BreakerState::closed);
  EXPECT_TRUE(b.allow(after + 22 * kMs));
  EXPECT_FALSE(b.record_commit(after));                       // closed: nothing to do
  EXPECT_FALSE(b.record_success(after + 5000 * kMs, after));  // the stream's end
  EXPECT_EQ(b.state(after + 5000 * kMs), BreakerState::closed);
}

TEST(CircuitBreaker, HalfOpenLetsOneTrialThroughAndASuccessCloses) {
  CircuitBreaker b(settings());
  for (int i = 0; i < 3; ++i) b.record_failure(10 * kMs);
  const Nanos after = 10 * kMs + 101 * kMs;
  EXPECT_EQ(b.state(after), BreakerState::half_open);
  EXPECT_TRUE(b.allow(after));
  EXPECT_FALSE(b.allow(after));  // only one trial at a time
  b.record_success(after + kMs);
  EXPECT_EQ(b.state(after + kMs), BreakerState::closed);
  EXPECT_TRUE(b.allow(after + 2 * kMs));
  EXPECT_EQ(b.ejections(), 0);
}

// Results of attempts begun before the circuit opened: a plain request that succeeded while
// the backend's streams broke does not close it; a long stream failing after the cooldown does
// not reopen it (nor double its cooldown). The trial decides.
TEST(CircuitBreaker, AttemptsBegunBeforeItOpenedDoNotDecide) {
  CircuitBreaker b(settings());
  const Nanos begun = 5 * kMs;
  for (int i = 0; i < 3; ++i) b.record_failure(10 * kMs);
  EXPECT_FALSE(b.record_success(12 * kMs, begun));
  EXPECT_EQ(b.state(12 * kMs), BreakerState::open);
  const Nanos after = 10 * kMs + 101 * kMs;
  EXPECT_FALSE(b.record_failure(after, begun));
  EXPECT_EQ(b.state(after), BreakerState::half_open);
  EXPECT_EQ(b.ejections(), 1);
  EXPECT_TRUE(b.allow(after));
  EXPECT_TRUE(b.record_success(after + kMs, after));  // the trial
  EXPECT_EQ(b.state(after + kMs), BreakerState::closed);
}

// A trial that gets no verdict (the client left, a hedge won) is ended by its stamp; a stale
// stamp ends nothing; a trial never ended is presumed lost after max_cooldown.
TEST(CircuitBreaker, ATrialWithoutVerdictIsEndedOrExpires) {
  CircuitBreaker b(settings());
  for (int i = 0; i < 3; ++i) b.record_failure(0);
  const Nanos t = 100 * kMs;
  Nanos first = 0;
  ASSERT_TRUE(b.allow(t, &first));
  EXPECT_NE(first, 0);
  EXPECT_FALSE(b.allow(t + kMs));
  b.end_trial(first);
  Nanos second = 0;
  ASSERT_TRUE(b.allow(t + 2 * kMs, &second));
  b.end_trial(first);  // stale: the second trial goes on
  EXPECT_FALSE(b.allow(t + 3 * kMs));
  EXPECT_TRUE(b.allow(t + 2 * kMs + 350 * kMs));  // never ended: lost after max_cooldown
  Nanos none = 0;
  b.record_success(t + 400 * kMs);
  EXPECT_TRUE(b.allow(t + 401 * kMs, &none));
  EXPECT_EQ(none, 0);  // closed: an ordinary admission
}

TEST(CircuitBreaker, FailedTrialReopensWithADoubledCappedCooldown) {
  CircuitBreaker b(settings());
  for (int i = 0; i < 3; ++i) b.record_failure(0);
  Nanos t = 100 * kMs;
  ASSERT_TRUE(b.allow(t));
  b.record_failure(t);
  EXPECT_EQ(b.open_until(), t + 200 * kMs);
  t += 200 * kMs;
  ASSERT_TRUE(b.allow(t));
  b.record_failure(t);
  EXPECT_EQ(b.open_until(), t + 350 * kMs);  // 400 capped at 350
}

TEST(CircuitBreaker, FailingProbesEjectAndKeepEjectedUntilAProbePasses) {
  CircuitBreaker b(settings());
  b.hold_open(10 * kMs, 50 * kMs);
  EXPECT_EQ(b.state(20 * kMs), BreakerState::open);
  EXPECT_TRUE(b.ejected_by_probe());
  EXPECT_EQ(b.ejections(), 1);
  b.hold_open(40 * kMs, 90 * kMs);  // still failing: held longer, not a new ejection
  EXPECT_EQ(b.state(60 * kMs), BreakerState::open);
  EXPECT_EQ(b.ejections(), 1);
  b.hold_open(45 * kMs, 70 * kMs);  // never shortened
  EXPECT_EQ(b.open_until(), 90 * kMs);
  b.probe_passed();
  EXPECT_EQ(b.state(61 * kMs), BreakerState::closed);
  EXPECT_FALSE(b.ejected_by_probe());
  EXPECT_EQ(b.ejections(), 0);
}

TEST(CircuitBreaker, APassingProbeDoesNotCutShortAnEjectionByRequests) {
  CircuitBreaker b(settings());
  for (int i = 0; i < 3; ++i) b.record_failure(10 * kMs);
  b.probe_passed();
  EXPECT_EQ(b.state(20 * kMs), BreakerState::open);
  EXPECT_EQ(b.state(111 * kMs), BreakerState::half_open);  // the usual trial still decides
}

TEST(CircuitBreaker, ProbesTakeOverAnEjectionByRequestsWhileTheyFail) {
  CircuitBreaker b(settings());
  for (int i = 0; i < 3; ++i) b.record_failure(10 * kMs);
  b.hold_open(20 * kMs, 500 * kMs);
  EXPECT_EQ(b.ejections(), 1);  // already open: the same ejection
  EXPECT_EQ(b.state(400 * kMs), BreakerState::open);
  b.probe_passed();
  EXPECT_EQ(b.state(401 * kMs), BreakerState::closed);
}

}  // namespace
}  // namespace llm_router::health
