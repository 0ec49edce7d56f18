// Module forms of the losses (ember::functional's loss ops underneath), with torch.nn's names and
// defaults. A loss takes (input, target): call it as loss_fn(output, target). Class weights
// are buffers named "weight" / "pos_weight", as in torch, so they appear in state_dict().
#pragma once

#include <cstdint>

#include "ember/loss.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

using functional::Reduction;

class Loss : public Module {
 public:
  using Module::forward;  // (the one-tensor form, which a loss doesn't have: NotImplementedError)
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;
  Reduction reduction;

 protected:
  Loss(const char* type_name, Reduction reduction) : Module(type_name), reduction(reduction) {}
  // Registers an optional weight buffer (undefined: none) and returns it.
  Tensor weight_buffer(const char* name, const Tensor& weight);
};

class MSELoss : public Loss {
 public:
  using Loss::forward;
  explicit MSELoss(Reduction reduction = Reduction::Mean) : Loss("MSELoss", reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
};

class L1Loss : public Loss {
 public:
  using Loss::forward;
  explicit L1Loss(Reduction reduction = Reduction::Mean) : Loss("L1Loss", reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
};

class SmoothL1Loss : public Loss {
 public:
  using Loss::forward;
  explicit SmoothL1Loss(Reduction reduction = Reduction::Mean, double beta = 1.0)
      : Loss("SmoothL1Loss", reduction), beta(beta) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  double beta;
};

class HuberLoss : public Loss {
 public:
  using Loss::forward;
  explicit HuberLoss(Reduction reduction = Reduction::Mean, double delta = 1.0)
      : Loss("HuberLoss", reduction), delta(delta) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  double delta;
};

// input: probabilities in [0, 1].
class BCELoss : public Loss {
 public:
  using Loss::forward;
  explicit BCELoss(const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Tensor weight;
};

// input: logits; pos_weight scales the positive term per class.
class BCEWithLogitsLoss : public Loss {
 public:
  using Loss::forward;
  explicit BCEWithLogitsLoss(const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean,
                             const Tensor& pos_weight = Tensor());
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Tensor weight, pos_weight;
};

struct CrossEntropyLossOptions {
  EMBER_ARG(Tensor, weight);  // per-class weights [C], or undefined
  EMBER_ARG(int64_t, ignore_index) = -100;
  EMBER_ARG(Reduction, reduction) = Reduction::Mean;
  EMBER_ARG(double, label_smoothing) = 0.0;
};

// input logits [N, C] (or [C], [N, C, d...]); target class indices (int64) or probabilities.
class CrossEntropyLoss : public Loss {
 public:
  using Loss::forward;
  explicit CrossEntropyLoss(const CrossEntropyLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  CrossEntropyLossOptions options;
  Tensor weight;
};

// input log-probabilities; target class indices.
class NLLLoss : public Loss {
 public:
  using Loss::forward;
  explicit NLLLoss(const Tensor& weight = Tensor(), int64_t ignore_index = -100, Reduction reduction = Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Tensor weight;
  int64_t ignore_index;
};

// target ±1.
class HingeEmbeddingLoss : public Loss {
 public:
  using Loss::forward;
  explicit HingeEmbeddingLoss(double margin = 1.0, Reduction reduction = Reduction::Mean)
      : Loss("HingeEmbeddingLoss", reduction), margin(margin) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  double margin;
};

// The multi-class SVM hinge; p = 1 or 2.
class MultiMarginLoss : public Loss {
 public:
  using Loss::forward;
  explicit MultiMarginLoss(int64_t p = 1, double margin = 1.0, const Tensor& weight = Tensor(),
                           Reduction reduction = Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target) override;
  int64_t p;
  double margin;
  Tensor weight;
};

// input log-probabilities (target too when log_target); use Reduction::BatchMean for the true KL.
class KLDivLoss : public Loss {
 public:
  using Loss::forward;
  explicit KLDivLoss(Reduction reduction = Reduction::Mean, bool log_target = false)
      : Loss("KLDivLoss", reduction), log_target(log_target) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  bool log_target;
};

}  // namespace ember::nn
