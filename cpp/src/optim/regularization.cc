// Gradient clipping and weight penalties (ember/optim.h), over kernels/cpu/vector_norm.h.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ember/autograd.h"
#include "ember/optim.h"
#include "kernels/cpu/vector_norm.h"
#include "ops/record.h"

namespace ember::optim {
namespace {

using kernels::NormKind;

NormKind norm_kind(double p) {
  EMBER_CHECK(!std::isnan(p), ValueError, "norm_type must be a number, got nan");
  if (p == 0) return NormKind::Zero;
  if (p == 1) return NormKind::One;
  if (p == 2) return NormKind::Two;
  if (std::isinf(p)) return p > 0 ? NormKind::Inf : NormKind::NegInf;
  return NormKind::P;
}

// The norm from the reduction of norm_reduce (the root of a sum of powers).
double finish_norm(NormKind kind, double p, double r) {
  switch (kind) {
    case NormKind::Two: return std::sqrt(r);
    case NormKind::P: return std::pow(r, 1.0 / p);
    default: return r;
  }
}

void check_list(const char* op, const char* what, const std::vector<Tensor>& ts) {
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    EMBER_CHECK(t.defined(), ValueError, op, ": ", what, "[", i, "] is undefined");
    EMBER_CHECK(is_floating(t.dtype()), TypeError, op, ": ", what, "[", i,
                "] must be a floating-point tensor (float32 or float64), got ", dtype_name(t.dtype()));
    EMBER_CHECK(t.device().type == DeviceType::CPU, NotImplementedError, op, ": ", what, "[", i, "] is on ",
                t.device().str(), "; only CPU tensors are supported");
  }
}

DType promoted(const std::vector<Tensor>& ts) {
  DType r = DType::Float32;
  for (const Tensor& t : ts) r = promote(r, t.dtype());
  return r;
}

// Per-tensor reductions (norm_reduce's, before the root), one kernel call per dtype.
std::vector<double> reduce_each(const std::vector<Tensor>& ts, NormKind kind, double p) {
  std::vector<double> out(ts.size());
  std::vector<Tensor> contig;
  contig.reserve(ts.size());
  for (const Tensor& t : ts) contig.push_back(t.is_contiguous() ? t : t.detach().contiguous());
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<const T*> data;
    std::vector<int64_t> numels;
    std::vector<size_t> where;
    for (size_t i = 0; i < contig.size(); ++i)
      if (contig[i].dtype() == dtype_of<T>::value) {
        data.push_back(static_cast<const T*>(contig[i].raw_data()));
        numels.push_back(contig[i].numel());
        where.push_back(i);
      }
    if (data.empty()) return;
    std::vector<double> r(data.size());
    kernels::norm_reduce<T>(static_cast<int64_t>(data.size()), data.data(), numels.data(), kind, p, r.data());
    for (size_t k = 0; k < where.size(); ++k) out[where[k]] = r[k];
  };
  run(type_tag<float>{});
  run(type_tag<double>{});
  return out;
}

// Calls fn(T* data, int64_t numel) once per dtype over all tensors' buffers (the kernels take
// lists), writing back into non-contiguous tensors afterwards.
template <typename Fn>
void update_each(const std::vector<Tensor>& ts, Fn&& fn) {
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> contig;
  for (const Tensor& t : ts) contig.push_back(t.is_contiguous() ? t : t.detach().clone());
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T*> data;
    std::vector<int64_t> numels;
    for (const Tensor& t : contig)
      if (t.dtype() == dtype_of<T>::value) {
        data.push_back(static_cast<T*>(t.raw_data()));
        numels.push_back(t.numel());
      }
    if (!data.empty()) fn(tag, static_cast<int64_t>(data.size()), data.data(), numels.data());
  };
  run(type_tag<float>{});
  run(type_tag<double>{});
  for (size_t i = 0; i < ts.size(); ++i) {
    Tensor orig = ts[i];
    if (contig[i].get() == orig.get())
      orig.bump_version();
    else
      orig.copy_(contig[i]);
  }
}

// A value rounded to dtype d, as a double.
double round_to(DType d, double v) { return d == DType::Float32 ? static_cast<double>(static_cast<float>(v)) : v; }

}  // namespace

Tensor total_norm(const std::vector<Tensor>& tensors, double norm_type, bool error_if_nonfinite) {
  const NormKind kind = norm_kind(norm_type);
  check_list("total_norm", "tensors", tensors);
  if (tensors.empty()) return zeros({}, DType::Float32);
  const DType out_dtype = promoted(tensors);
  // As torch.nn.utils.get_total_norm: the norm of each tensor in its own dtype, then the norm of
  // those norms in the promoted dtype.
  std::vector<double> each = reduce_each(tensors, kind, norm_type);
  std::vector<double> norms(each.size());
  for (size_t i = 0; i < each.size(); ++i)
    norms[i] = round_to(out_dtype, round_to(tensors[i].dtype(), finish_norm(kind, norm_type, each[i])));
  double r = 0;
  const int64_t n = static_cast<int64_t>(norms.size());
  const double* data = norms.data();
  kernels::norm_reduce<double>(1, &data, &n, kind, norm_type, &r);
  const double norm = round_to(out_dtype, finish_norm(kind, norm_type, r));
  EMBER_CHECK(!error_if_nonfinite || std::isfinite(norm), Error, "The total norm of order ", norm_type,
              " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and "
              "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
  return full({}, norm, out_dtype);
}

void clip_grads_with_norm_(const std::vector<Tensor>& grads, double max_norm, const Tensor& total_norm) {
  EMBER_CHECK(!std::isnan(max_norm), ValueError, "clip_grads_with_norm_: max_norm must be a number, got nan");
  EMBER_CHECK(total_norm.defined() && total_norm.numel() == 1 && is_floating(total_norm.dtype()), ValueError,
              "clip_grads_with_norm_: total_norm must be a one-element floating-point tensor");
  check_list("clip_grads_with_norm_", "grads", grads);
  if (grads.empty()) return;
  const double norm = total_norm.item();
  // torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1, all in the norm's dtype;
  // each gradient is then multiplied by it rounded to the gradient's dtype.
  double coef;
  if (total_norm.dtype() == DType::Float32) {
    const float c = static_cast<float>(max_norm) / (static_cast<float>(norm) + static_cast<float>(1e-6));
    coef = c > 1.0f ? 1.0f : c;  // NaN stays NaN (clamp propagates it)
  } else {
    const double c = max_norm / (norm + 1e-6);
    coef = c > 1.0 ? 1.0 : c;
  }
  if (coef == 1.0) return;  // x * 1 == x: nothing to do
  update_each(grads, [coef](auto tag, int64_t n, auto* data, const int64_t* numels) {
    using T = typename decltype(tag)::type;
    kernels::scale_inplace<T>(n, data, numels, static_cast<T>(coef));
  });
}

Tensor clip_grad_norm_(const std::vector<Tensor>& grads, double max_norm, double norm_type, bool error_if_nonfinite) {
  EMBER_CHECK(!std::isnan(max_norm), ValueError, "clip_grad_norm_: max_norm must be a number, got nan");
  check_list("clip_grad_norm_", "grads", grads);
  Tensor total = total_norm(grads, norm_type, error_if_nonfinite);
  clip_grads_with_norm_(grads, max_norm, total);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& grads, double clip_value) {
  EMBER_CHECK(!std::isnan(clip_value), ValueError, "clip_grad_value_: clip_value must be a number, got nan");
  check_list("clip_grad_value_", "grads", grads);
  update_each(grads, [clip_value](auto tag, int64_t n, auto* data, const int64_t* numels) {
    using T = typename decltype(tag)::type;
    kernels::clamp_inplace<T>(n, data, numels, static_cast<T>(-clip_value), static_cast<T>(clip_value));
  });
}

namespace {

// sum |w| (l1) or sum w^2 / 2 (l2) over all parameters, with the backward sign(w) * g or w * g.
Tensor penalty(const std::vector<Tensor>& params, bool l1) {
  const char* op = l1 ? "l1_penalty" : "l2_penalty";
  check_list(op, "params", params);
  if (params.empty()) return zeros({}, DType::Float32);
  const DType out_dtype = promoted(params);
  std::vector<double> each = reduce_each(params, l1 ? NormKind::One : NormKind::Two, 0.0);
  double total = 0;
  for (double v : each) total += v;
  Tensor out = full({}, l1 ? total : total * 0.5, out_dtype);
  std::vector<ops::SavedTensor> saved;
  if (autograd::any_requires_grad(params))
    for (const Tensor& p : params) saved.emplace_back(p);
  std::vector<Tensor*> outs{&out};
  ops::record_list(l1 ? "L1PenaltyBackward" : "L2PenaltyBackward", params, outs,
                   [saved, l1](const autograd::Node& node, ops::TensorList& g) {
                     ops::TensorList r;
                     if (!g[0].defined()) return ops::TensorList(saved.size());
                     for (const ops::SavedTensor& s : saved) {
                       const Tensor w = s.unpack(&node);
                       const Tensor d = l1 ? mul(sign(w), g[0]) : mul(w, g[0]);
                       r.push_back(ops::reduce_grad(d, w.shape(), w.dtype()));
                     }
                     return r;
                   });
  return out;
}

}  // namespace

Tensor l1_penalty(const std::vector<Tensor>& params) { return penalty(params, true); }
Tensor l2_penalty(const std::vector<Tensor>& params) { return penalty(params, false); }

}  // namespace ember::optim
