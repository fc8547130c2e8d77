// edgeopt eval MODEL --data SPEC [--limit N] [--batch B] [--reference REF.onnx] [--json]
//                    [--provider P] [--threads N]
#include "edgeopt/eval.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/bench.h"
#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"
#include "session_options.h"

namespace edgeopt::cli {
namespace {

struct EvalArgs {
  std::string model, data, reference, provider;
  int64_t limit = 0, batch = 0;
  int threads = 1;
  bool json = false;
};

// The largest class count for which the text report prints the confusion matrix.
constexpr size_t kMaxPrintedClasses = 30;

void print_text(const EvalArgs& a, const Dataset& data, const EvalResult& r) {
  const ClassificationMetrics& m = r.metrics;
  std::printf("model      %s\n", a.model.c_str());
  std::printf("data       %s\n", data.describe().c_str());
  std::printf("count      %lld (batch %lld)\n", static_cast<long long>(m.count),
              static_cast<long long>(r.batch));
  std::printf("top-1      %.4f (%lld/%lld)\n", m.top1(), static_cast<long long>(m.top1_correct),
              static_cast<long long>(m.count));
  std::printf("top-5      %.4f (%lld/%lld)\n", m.top5(), static_cast<long long>(m.top5_correct),
              static_cast<long long>(m.count));
  if (r.fidelity) {
    const Fidelity& f = *r.fidelity;
    std::printf("reference  %s\n", a.reference.c_str());
    std::printf("agreement  %.4f (top-1 equal to the reference's)\n", f.agreement);
    std::printf("cosine     %.6f (mean over samples)\n", f.cosine);
    std::printf("SQNR       %.2f dB\n", f.sqnr_db);
  }
  std::printf("\nper-class accuracy:\n");
  const size_t k = r.class_names.size();
  for (size_t c = 0; c < k; ++c)
    std::printf("  %3zu %-20s %.4f  (%lld)\n", c, r.class_names[c].c_str(),
                m.class_accuracy(static_cast<int64_t>(c)),
                static_cast<long long>(m.class_count(static_cast<int64_t>(c))));
  if (k > kMaxPrintedClasses) {
    std::printf("\nconfusion matrix: %zu classes, see --json\n", k);
    return;
  }
  std::printf("\nconfusion matrix (rows: true class, columns: predicted):\n     ");
  for (size_t c = 0; c < k; ++c) std::printf(" %6zu", c);
  std::printf("\n");
  for (size_t t = 0; t < k; ++t) {
    std::printf("  %3zu", t);
    for (size_t p = 0; p < k; ++p) std::printf(" %6lld", static_cast<long long>(m.confusion[t][p]));
    std::printf("\n");
  }
}

int run_eval(const EvalArgs& a) {
  const SessionOptions opts = session_options(a.provider, a.threads);
  std::unique_ptr<Dataset> data = open_dataset(a.data);
  Session session(load_model(a.model), opts);
  std::unique_ptr<Session> reference;
  if (!a.reference.empty()) reference = std::make_unique<Session>(load_model(a.reference), opts);
  EvalOptions eo;
  eo.limit = a.limit;
  eo.batch = a.batch;
  eo.progress = terminal_progress("eval");
  const EvalResult r = evaluate(session, *data, eo, reference.get());
  if (a.json)
    std::cout << eval_json(a.model, a.data, a.reference, r).dump(2) << "\n";
  else
    print_text(a, *data, r);
  return 0;
}

CommandRegistrar reg(
    40, "eval", "Accuracy on a dataset, and fidelity to a reference model", [](CLI::App& sub) {
      auto a = std::make_shared<EvalArgs>();
      sub.add_option("model", a->model, "ONNX model")->required();
      sub.add_option("--data", a->data,
                     "Dataset: fashion-mnist[:test|:train], mnist:DIR[:SPLIT], FILE.npz (x, y) or "
                     "an image FOLDER, with ?size=&crop=&mean=&std=&channels=&scale= options")
          ->required();
      sub.add_option("--limit", a->limit, "Evaluate the first N samples")
          ->check(edgeopt::cli::positive_int());
      sub.add_option("--batch", a->batch,
                     "Samples per read (default: the model's static batch, "
                     "else 64)")
          ->check(edgeopt::cli::positive_int());
      sub.add_option("--reference", a->reference,
                     "Original model: report top-1 agreement, cosine and SQNR of the logits");
      sub.add_flag("--json", a->json, "Print one JSON object");
      sub.add_option("--provider", a->provider,
                     "Providers, comma-separated, best first; reference runs the rest");
      sub.add_option("--threads", a->threads, "Threads")->check(edgeopt::cli::whole(1, 1024));
      return [a] { return run_eval(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
