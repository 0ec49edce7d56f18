// Loss modules: one call each into ember::functional's loss ops.
#include "ember/nn/loss.h"

#include "ember/error.h"

namespace ember::nn {

namespace {
const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None: return "none";
    case Reduction::Sum: return "sum";
    case Reduction::BatchMean: return "batchmean";
    default: return "mean";
  }
}
}  // namespace

std::string Loss::extra_repr() const {
  return reduction == Reduction::Mean ? "" : std::string("reduction=") + reduction_name(reduction);
}

Tensor Loss::weight_buffer(const char* name, const Tensor& weight) {
  if (weight.defined()) {
    EMBER_CHECK(is_floating(weight.dtype()), TypeError, type_name(), ": ", name, " must be floating point, got ",
                dtype_name(weight.dtype()));
  }
  // a buffer even when undefined, so the name is taken as in torch (and left out of state_dict)
  return register_buffer(name, weight.defined() ? weight.detach() : Tensor());
}

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) {
  return functional::mse_loss(input, target, reduction);
}

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) {
  return functional::l1_loss(input, target, reduction);
}

Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return functional::smooth_l1_loss(input, target, reduction, beta);
}

Tensor HuberLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::huber_loss(input, target, reduction, delta);
}

BCELoss::BCELoss(const Tensor& w, Reduction r) : Loss("BCELoss", r) { weight = weight_buffer("weight", w); }

Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy(input, target, weight, reduction);
}

BCEWithLogitsLoss::BCEWithLogitsLoss(const Tensor& w, Reduction r, const Tensor& pw) : Loss("BCEWithLogitsLoss", r) {
  weight = weight_buffer("weight", w);
  pos_weight = weight_buffer("pos_weight", pw);
}

Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight);
}

CrossEntropyLoss::CrossEntropyLoss(const CrossEntropyLossOptions& o)
    : Loss("CrossEntropyLoss", o.reduction()), options(o) {
  EMBER_CHECK(o.label_smoothing() >= 0.0 && o.label_smoothing() <= 1.0, ValueError,
              "label_smoothing must be between 0.0 and 1.0, got ", o.label_smoothing());
  weight = weight_buffer("weight", o.weight());
}

Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::cross_entropy(input, target, weight, options.ignore_index(), reduction,
                                   options.label_smoothing());
}

NLLLoss::NLLLoss(const Tensor& w, int64_t ignore, Reduction r) : Loss("NLLLoss", r), ignore_index(ignore) {
  weight = weight_buffer("weight", w);
}

Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::nll_loss(input, target, weight, ignore_index, reduction);
}

Tensor HingeEmbeddingLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::hinge_embedding_loss(input, target, margin, reduction);
}

MultiMarginLoss::MultiMarginLoss(int64_t p_, double m, const Tensor& w, Reduction r)
    : Loss("MultiMarginLoss", r), p(p_), margin(m) {
  EMBER_CHECK(p == 1 || p == 2, ValueError, "MultiMarginLoss: only p == 1 and p == 2 supported, got ", p);
  weight = weight_buffer("weight", w);
}

Tensor MultiMarginLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::multi_margin_loss(input, target, p, margin, weight, reduction);
}

Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::kl_div(input, target, reduction, log_target);
}

}  // namespace ember::nn
