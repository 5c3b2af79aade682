#include "mlops/core/internal/in_flight.h"

#include <utility>

namespace mlops {
namespace core_internal {

std::optional<InFlightCalls::Outcome> InFlightCalls::Join(const Digest& key) {
  std::shared_ptr<Flight> flight;
  {
    MutexLock lock(&mu_);
    auto it = flights_.find(key);
    if (it == flights_.end()) {
      flights_.emplace(key, std::make_shared<Flight>());
      return std::nullopt;
    }
    flight = it->second;
  }
  MutexLock lock(&flight->mu);
  while (!flight->done) flight->done_cv.Wait(&flight->mu);
  return flight->outcome;
}

void InFlightCalls::Finish(const Digest& key, Outcome outcome) {
  std::shared_ptr<Flight> flight;
  {
    MutexLock lock(&mu_);
    auto it = flights_.find(key);
    if (it == flights_.end()) return;
    flight = std::move(it->second);
    flights_.erase(it);
  }
  {
    MutexLock lock(&flight->mu);
    flight->done = true;
    flight->outcome = std::move(outcome);
  }
  flight->done_cv.SignalAll();
}

}  // namespace core_internal
}  // namespace mlops
