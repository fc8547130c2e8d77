// fit across workers on c10d's TCPStore: the coordinator (fit --workers tcp://HOST:PORT) serves
// the store, workers (edgeopt fit-worker tcp://HOST:PORT) connect to it, as many as there are,
// whenever they start. Keys:
//   config, model/baseline      what every task needs (FitWorkers::start)
//   task/I                       task I (JSON)
//   claimed, owner/I             a worker reserves the next index (add), then says it is its own
//   workers, beat/W              worker W's id (add) and its heartbeat, +1 every second
//   model/NAME, result/I         a built model's bytes; task I's result (JSON), written last
//   done                         the search is over: workers exit
// A worker whose heartbeat stops for kStaleSeconds is lost: each task it holds is published
// again under a new index (the first result of either index is taken), so a lost worker costs
// only the task it was running.
#include "edgeopt/fit_workers.h"

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "edgeopt/error.h"
#include "edgeopt/fit.h"
#include "edgeopt/train.h"
#include "train/distributed.h"

namespace edgeopt::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kStaleSeconds = 10;
constexpr auto kPoll = std::chrono::milliseconds(100);

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::string string_of(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

struct Address {
  std::string host;
  int port = 0;
};

Address parse_address(const std::string& address) {
  const std::string prefix = "tcp://";
  const size_t colon = address.rfind(':');
  if (address.rfind(prefix, 0) != 0 || colon == std::string::npos || colon <= prefix.size())
    fail_input("fit workers: '", address, "' is not tcp://HOST:PORT");
  Address a;
  a.host = address.substr(prefix.size(), colon - prefix.size());
  const std::string port = address.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 1 || p > 65535)
    fail_input("fit workers: port '", port, "' of '", address, "' is not in [1, 65535]");
  a.port = static_cast<int>(p);
  return a;
}

c10::intrusive_ptr<c10d::TCPStore> open_store(const Address& a, bool server,
                                              std::chrono::seconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(a.port);
  o.isServer = server;
  o.waitWorkers = false;
  o.timeout = timeout;
  quiet_c10d_logging();
  try {
    return c10::make_intrusive<c10d::TCPStore>(a.host, o);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    fail_input(server ? "fit: cannot serve the workers' store on port "
                      : "fit-worker: cannot reach the coordinator at ",
               server ? std::to_string(a.port) : a.host + ":" + std::to_string(a.port), " (",
               what.substr(0, what.find('\n')), ")");
  }
}

class StoreWorkers : public FitWorkers {
 public:
  StoreWorkers(const std::string& address, std::chrono::seconds join_timeout,
               std::function<void(const std::string&)> log)
      : address_(address), join_timeout_(join_timeout), log_(std::move(log)) {
    store_ = open_store(parse_address(address), /*server=*/true, join_timeout);
  }
  ~StoreWorkers() override {
    try {
      finish();
    } catch (...) {
    }
  }

  void start(const nlohmann::json& config, const std::string& baseline) override {
    store_->set("model/baseline", bytes_of(baseline));
    store_->set("config", bytes_of(config.dump()));
    started_ = Clock::now();
  }

  std::vector<FitTaskOutput> run(const std::vector<nlohmann::json>& tasks) override {
    std::vector<FitTaskOutput> out(tasks.size());
    std::map<int64_t, size_t> pending;  // index → task; a re-published task has two indices
    std::map<int64_t, Clock::time_point> published_at;
    auto publish = [&](size_t k) {
      const int64_t i = next_index_++;
      nlohmann::json t = tasks[k];
      t["index"] = i;
      store_->set("task/" + std::to_string(i), bytes_of(t.dump()));
      pending[i] = k;
      published_at[i] = Clock::now();
    };
    for (size_t k = 0; k < tasks.size(); ++k) publish(k);
    std::set<size_t> left;
    for (size_t k = 0; k < tasks.size(); ++k) left.insert(k);
    while (!left.empty()) {
      std::this_thread::sleep_for(kPoll);
      for (auto it = pending.begin(); it != pending.end();) {
        const size_t k = it->second;
        const std::string key = "result/" + std::to_string(it->first);
        if (left.count(k) && store_->check({key})) {
          out[k].result = nlohmann::json::parse(string_of(store_->get(key)));
          if (tasks[k].at("kind") == "build" && !out[k].result.contains("skipped"))
            out[k].model_bytes =
                string_of(store_->get("model/" + tasks[k].at("name").get<std::string>()));
          left.erase(k);
        }
        it = left.count(k) ? std::next(it) : pending.erase(it);
      }
      update_liveness();
      // Tasks held by a lost worker, or reserved by one that was lost before saying so.
      const int64_t claimed = store_->add("claimed", 0);
      std::vector<int64_t> lost;
      for (const auto& [i, k] : pending) {
        if (!left.count(k)) continue;
        const std::string owner_key = "owner/" + std::to_string(i);
        if (store_->check({owner_key})) {
          const int64_t w = std::stoll(string_of(store_->get(owner_key)));
          if (dead_.count(w) && !requeued_.count(i)) lost.push_back(i);
        } else if (claimed > i && seconds_since(published_at[i]) > kStaleSeconds &&
                   !requeued_.count(i)) {
          lost.push_back(i);
        }
      }
      for (int64_t i : lost) {
        requeued_.insert(i);
        const size_t k = pending.at(i);
        if (log_)
          log_("a worker was lost: " + tasks[k].at("name").get<std::string>() + " (" +
               tasks[k].at("kind").get<std::string>() + ") re-queued");
        publish(k);
      }
      if (alive() == 0 && seconds_since(last_alive_) > join_timeout_.count())
        fail_input("fit: no worker alive for ", join_timeout_.count(), " s with ", left.size(),
                   " task(s) left; start `edgeopt fit-worker ", address_, "`");
    }
    return out;
  }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    store_->set("done", bytes_of("1"));
    // Workers poll every 100 ms: let them see it before the store goes.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  std::string describe() const override {
    return "the workers at " + address_ + " (edgeopt fit-worker)";
  }

 private:
  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }
  void update_liveness() {
    const int64_t n = store_->add("workers", 0);
    for (int64_t w = 1; w <= n; ++w) {
      const int64_t beat = store_->add("beat/" + std::to_string(w), 0);
      auto it = beats_.find(w);
      if (it == beats_.end() || it->second.first != beat) {
        beats_[w] = {beat, Clock::now()};
        dead_.erase(w);
      } else if (seconds_since(it->second.second) > kStaleSeconds) {
        dead_.insert(w);
      }
    }
    if (alive() > 0 || beats_.empty()) last_alive_ = beats_.empty() ? started_ : Clock::now();
  }
  size_t alive() const { return beats_.size() - dead_.size(); }

  std::string address_;
  std::chrono::seconds join_timeout_;
  std::function<void(const std::string&)> log_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  int64_t next_index_ = 0;
  std::map<int64_t, std::pair<int64_t, Clock::time_point>> beats_;  // worker → (beat, seen)
  std::set<int64_t> dead_, requeued_;
  Clock::time_point started_ = Clock::now(), last_alive_ = Clock::now();
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<FitWorkers> serve_fit_workers(const std::string& address, int join_timeout_s,
                                              std::function<void(const std::string&)> log) {
  return std::make_shared<StoreWorkers>(address, std::chrono::seconds(join_timeout_s),
                                        std::move(log));
}

int run_fit_worker(const std::string& address, int join_timeout_s,
                   const std::function<void(const std::string&)>& log) {
  const Address a = parse_address(address);
  const auto timeout = std::chrono::seconds(join_timeout_s);
  auto store = open_store(a, /*server=*/false, timeout);
  try {
    // The coordinator publishes the search once its baseline is measured.
    while (!store->check({"config"})) {
      if (store->check({"done"})) return 0;
      std::this_thread::sleep_for(kPoll);
    }
    const nlohmann::json config = nlohmann::json::parse(string_of(store->get("config")));
    FitTaskRunner runner(config, string_of(store->get("model/baseline")), log);
    const int64_t id = store->add("workers", 1);
    std::atomic<bool> stop{false};
    std::thread heartbeat([&] {
      auto beat_store = open_store(a, false, timeout);
      while (!stop) {
        try {
          beat_store->add("beat/" + std::to_string(id), 1);
        } catch (const std::exception&) {
          return;
        }
        for (int k = 0; k < 10 && !stop; ++k) std::this_thread::sleep_for(kPoll);
      }
    });
    struct Join {
      std::atomic<bool>& stop;
      std::thread& t;
      ~Join() {
        stop = true;
        t.join();
      }
    } join{stop, heartbeat};
    log("fit-worker " + std::to_string(id) + ": joined " + address);
    for (;;) {
      const int64_t i = store->add("claimed", 1) - 1;
      store->set("owner/" + std::to_string(i), bytes_of(std::to_string(id)));
      const std::string key = "task/" + std::to_string(i);
      while (!store->check({key})) {
        if (store->check({"done"})) return 0;
        std::this_thread::sleep_for(kPoll);
      }
      const nlohmann::json task = nlohmann::json::parse(string_of(store->get(key)));
      const std::string name = task.at("name").get<std::string>();
      log("fit-worker " + std::to_string(id) + ": " + task.at("kind").get<std::string>() + " " +
          name);
      const FitTaskOutput out = runner.run(
          task, [&](const std::string& model) { return string_of(store->get("model/" + model)); });
      if (!out.model_bytes.empty()) store->set("model/" + name, bytes_of(out.model_bytes));
      store->set("result/" + std::to_string(i), bytes_of(out.result.dump()));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    fail(ErrorKind::kInternal, "fit-worker: lost the coordinator at ", address, " (",
         what.substr(0, what.find('\n')), ")");
  }
}

}  // namespace edgeopt::train
