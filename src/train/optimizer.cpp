// The training loop's optimizers and learning-rate schedules (optimizer.h).
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "edgeopt/error.h"

namespace edgeopt::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

Optimizer::Optimizer(const TrainOptions& o, std::vector<torch::Tensor> params)
    : o_(o), params_(std::move(params)) {
  if (o.optimizer != "sgd" && o.optimizer != "adamw")
    fail_input("training: unknown optimizer '", o.optimizer, "' (sgd | adamw)");
  for (const torch::Tensor& p : params_) {
    m_.push_back(torch::zeros_like(p).detach());
    v_.push_back(o.optimizer == "adamw" ? torch::zeros_like(p).detach() : torch::Tensor());
  }
}

void Optimizer::step(const std::vector<torch::Tensor>& grads, double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grads[i].defined()) continue;
    torch::Tensor p = params_[i];
    torch::Tensor g = grads[i];
    const bool decay = p.dim() >= 2 && o_.weight_decay > 0;
    if (o_.optimizer == "sgd") {
      // g ← g + λw; m ← μm + g; w ← w − lr·(g + μm) (Nesterov) or w − lr·m.
      if (decay) g = g + o_.weight_decay * p;
      m_[i].mul_(o_.momentum).add_(g);
      p.sub_(o_.nesterov ? (g + o_.momentum * m_[i]) * lr : m_[i] * lr);
    } else {
      // AdamW (decoupled decay): w ← w − lr·λw; m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t);
      // w ← w − lr·m̂/(√v̂ + ε).
      constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
      if (decay) p.mul_(1 - lr * o_.weight_decay);
      m_[i].mul_(b1).add_(g, 1 - b1);
      v_[i].mul_(b2).addcmul_(g, g, 1 - b2);
      const double c1 = 1 - std::pow(b1, static_cast<double>(steps_));
      const double c2 = 1 - std::pow(b2, static_cast<double>(steps_));
      p.sub_((m_[i] / c1) / ((v_[i] / c2).sqrt() + eps) * lr);
    }
  }
}

void Optimizer::save(torch::serialize::OutputArchive& ar) const {
  ar.write("steps", torch::tensor(steps_, torch::kLong));
  for (size_t i = 0; i < m_.size(); ++i) {
    ar.write("m_" + std::to_string(i), m_[i]);
    if (v_[i].defined()) ar.write("v_" + std::to_string(i), v_[i]);
  }
}

void Optimizer::load(torch::serialize::InputArchive& ar) {
  torch::Tensor s;
  ar.read("steps", s);
  steps_ = s.item<int64_t>();
  for (size_t i = 0; i < m_.size(); ++i) {
    torch::Tensor t;
    ar.read("m_" + std::to_string(i), t);
    if (t.sizes() != m_[i].sizes())
      fail_input("training: the optimizer state does not match the model (tensor ", i, ")");
    m_[i].copy_(t);
    if (v_[i].defined()) {
      ar.read("v_" + std::to_string(i), t);
      v_[i].copy_(t);
    }
  }
}

double learning_rate(const TrainOptions& o, int64_t step, int64_t total, int epoch) {
  const int64_t per_epoch = std::max<int64_t>(1, total / std::max(1, o.epochs));
  const int64_t warm = std::min<int64_t>(o.warmup_epochs * per_epoch, total);
  if (step < warm) return o.lr * (0.1 + 0.9 * static_cast<double>(step) / warm);
  if (o.schedule == "cosine") {
    const double t = static_cast<double>(step - warm) / std::max<int64_t>(1, total - warm);
    return o.lr * 0.5 * (1 + std::cos(kPi * t));
  }
  if (o.schedule == "step") {
    double lr = o.lr;
    if (epoch >= o.epochs / 2) lr *= 0.1;
    if (epoch >= (3 * o.epochs) / 4) lr *= 0.1;
    return lr;
  }
  if (o.schedule == "constant") return o.lr;
  fail_input("training: unknown schedule '", o.schedule, "' (cosine | step | constant)");
}

}  // namespace edgeopt::train
