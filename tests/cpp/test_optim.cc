// Checks the public optimizer API (ember/optim.h) from C++ alone: option validation with torch's
// messages; the functional multi-tensor steps give the fused kernels' bits (one call for many
// tensors, mixed dtypes, non-contiguous tensors); the classes (SGD, Adam, AdamW, Adagrad,
// RMSprop) with param groups, state, zero_grad, closures; state_dict through a safetensors file
// resumes bit-exactly; clipping and penalties. Prints "optim: N passed, M failed".
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ember/ember.h"
#include "kernels/cpu/optim.h"

using namespace ember;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

template <typename E, typename F>
void expect_throw(F&& f, const std::string& what, const std::string& needle = "") {
  try {
    f();
  } catch (const E& e) {
    const bool found = needle.empty() || std::string(e.what()).find(needle) != std::string::npos;
    check(found, what + " (message: " + e.what() + ")");
    return;
  } catch (const std::exception& e) {
    check(false, what + ": wrong exception type: " + e.what());
    return;
  }
  check(false, what + ": no exception");
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * ca.itemsize()) == 0;
}

Tensor leaf(const Shape& s, DType d = DType::Float32) {
  Tensor t = randn(s, d);
  t.set_requires_grad(true);
  return t;
}

Tensor copy_leaf(const Tensor& t) {
  Tensor c = t.detach().clone();
  c.set_requires_grad(true);
  return c;
}

// loss = sum((w - 1)^2 * w) over all params: a non-quadratic smooth loss.
Tensor loss_of(const std::vector<Tensor>& ps) {
  Tensor total;
  for (const Tensor& p : ps) {
    Tensor d = add(p, -1.0);
    Tensor l = sum(mul(mul(d, d), p));
    total = total.defined() ? add(total, l) : l;
  }
  return total;
}

void train(optim::Optimizer& opt, const std::vector<Tensor>& ps, int steps) {
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    loss_of(ps).backward();
    opt.step();
  }
}

void test_validation() {
  optim::SGDOptions s(-1.0);
  expect_throw<ValueError>([&] { optim::validate(s); }, "sgd lr", "Invalid learning rate: -1");
  s = optim::SGDOptions(0.1);
  s.nesterov = true;
  expect_throw<ValueError>([&] { optim::validate(s); }, "nesterov", "Nesterov momentum requires a momentum");
  s.momentum = 0.9;
  optim::validate(s);
  s.momentum = -0.1;
  s.nesterov = false;
  expect_throw<ValueError>([&] { optim::validate(s); }, "momentum", "Invalid momentum value: -0.1");
  optim::AdamOptions a;
  a.beta1 = 1.0;
  expect_throw<ValueError>([&] { optim::validate(a); }, "beta1", "Invalid beta parameter at index 0: 1");
  a = optim::AdamOptions();
  a.beta2 = -0.5;
  expect_throw<ValueError>([&] { optim::validate(a); }, "beta2", "Invalid beta parameter at index 1: -0.5");
  a = optim::AdamOptions();
  a.eps = -1e-8;
  expect_throw<ValueError>([&] { optim::validate(a); }, "eps", "Invalid epsilon value: -1e-08");
  a = optim::AdamOptions(std::nan(""));
  expect_throw<ValueError>([&] { optim::validate(a); }, "nan lr", "Invalid learning rate");
  optim::AdagradOptions g;
  g.lr_decay = -1;
  expect_throw<ValueError>([&] { optim::validate(g); }, "lr_decay", "Invalid lr_decay value: -1");
  g = optim::AdagradOptions();
  g.initial_accumulator_value = -1;
  expect_throw<ValueError>([&] { optim::validate(g); }, "init acc", "Invalid initial_accumulator_value value");
  optim::RMSpropOptions r;
  r.alpha = -0.1;
  expect_throw<ValueError>([&] { optim::validate(r); }, "alpha", "Invalid alpha value: -0.1");
  r = optim::RMSpropOptions();
  r.weight_decay = -1;
  expect_throw<ValueError>([&] { optim::validate(r); }, "weight_decay", "Invalid weight_decay value: -1");
  // The class constructors validate their defaults.
  expect_throw<ValueError>([&] { optim::SGD({leaf({2})}, optim::SGDOptions(-0.5)); }, "SGD ctor",
                           "Invalid learning rate");
  expect_throw<ValueError>([&] { optim::Adam({}); }, "empty params", "empty parameter list");
  Tensor p = leaf({2});
  expect_throw<ValueError>([&] { optim::Adam({p, p}); }, "duplicate", "duplicate");
  expect_throw<ValueError>([&] { optim::Adam({mul(p, p)}); }, "non-leaf", "non-leaf");
  expect_throw<TypeError>([&] { optim::Adam({zeros({2}, DType::Int64)}); }, "int param", "floating-point");
  optim::Adam opt({p});
  expect_throw<ValueError>([&] { opt.add_param_group({p}); }, "two groups", "more than one parameter group");
  check(opt.num_param_groups() == 1, "failed add_param_group leaves the groups alone");
}

// The functional steps against the kernels on the same buffers: one call over many tensors,
// with mixed dtypes and a non-contiguous parameter, gives every tensor the single-tensor bits.
void test_functional_matches_kernels() {
  std::vector<Tensor> params = {randn({37}), randn({5, 9}, DType::Float64), randn({8, 6}).t(), randn({1000})};
  std::vector<Tensor> grads, m, v, vmax, steps;
  for (const Tensor& p : params) {
    grads.push_back(randn(p.shape(), p.dtype()));
    m.push_back(zeros(p.shape(), p.dtype()));
    v.push_back(zeros(p.shape(), p.dtype()));
    vmax.push_back(zeros(p.shape(), p.dtype()));
    steps.push_back(zeros({}, DType::Float32));
  }
  check(!params[2].is_contiguous(), "a non-contiguous parameter in the list");
  // Reference: the kernel, one tensor at a time, on contiguous copies.
  std::vector<Tensor> rp, rm, rv, rvm;
  for (size_t i = 0; i < params.size(); ++i) {
    rp.push_back(params[i].contiguous().clone());
    rm.push_back(zeros(params[i].shape(), params[i].dtype()));
    rv.push_back(zeros(params[i].shape(), params[i].dtype()));
    rvm.push_back(zeros(params[i].shape(), params[i].dtype()));
  }
  optim::AdamOptions o(0.01);
  o.weight_decay = 0.1;
  o.amsgrad = true;
  kernels::AdamOptions k;
  k.lr = 0.01;
  k.weight_decay = 0.1;
  k.amsgrad = true;
  for (int step = 1; step <= 5; ++step) {
    optim::adam_step(params, grads, m, v, vmax, steps, o);
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor g = grads[i].contiguous();
      dispatch_floating(params[i].dtype(), "ref", [&](auto tag) {
        using T = typename decltype(tag)::type;
        kernels::adam_step<T>(rp[i].data<T>(), g.data<T>(), rm[i].data<T>(), rv[i].data<T>(), rvm[i].data<T>(),
                              rp[i].numel(), step, k);
      });
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    check(same_bits(params[i], rp[i]), "adam_step param " + std::to_string(i) + " equals the kernel's");
    check(same_bits(m[i], rm[i]) && same_bits(v[i], rv[i]) && same_bits(vmax[i], rvm[i]),
          "adam_step state " + std::to_string(i));
    check(steps[i].item() == 5.0, "step counter incremented");
  }

  // A failing call changes nothing: mismatched state shape found after valid entries.
  const Tensor before = params[0].clone();
  std::vector<Tensor> bad_v = v;
  bad_v[3] = zeros({999});
  expect_throw<ValueError>([&] { optim::adam_step(params, grads, m, bad_v, vmax, steps, o); }, "bad state shape",
                           "exp_avg_sqs[3]");
  check(same_bits(params[0], before) && steps[0].item() == 5.0, "failed step leaves params and steps unchanged");
  expect_throw<ValueError>([&] { optim::adam_step(params, grads, m, v, {}, steps, o); }, "missing amsgrad list",
                           "max_exp_avg_sqs");
  std::vector<Tensor> dup = {params[0], params[0]};
  std::vector<Tensor> bufs;
  expect_throw<ValueError>(
      [&] { optim::sgd_step(dup, {grads[0], grads[0].clone()}, bufs, optim::SGDOptions(0.1)); }, "duplicate param",
      "share memory");

  // SGD: undefined buffers are created (first step copies the gradient) and handed back.
  std::vector<Tensor> sp = {randn({10}), randn({3, 3}, DType::Float64)};
  std::vector<Tensor> sg = {randn({10}), randn({3, 3}, DType::Float64)};
  std::vector<Tensor> sb(2);
  optim::SGDOptions so(0.1);
  so.momentum = 0.9;
  optim::sgd_step(sp, sg, sb, so);
  check(sb[0].defined() && same_bits(sb[0], sg[0]) && same_bits(sb[1], sg[1]), "sgd creates momentum buffers");
}

void test_classes_and_groups() {
  // SGD without momentum on sum(w^2): w <- w * (1 - 2 lr) each step.
  Tensor w = full({3}, 1.0, DType::Float64);
  w.set_requires_grad(true);
  optim::SGD sgd({w}, optim::SGDOptions(0.1));
  for (int i = 0; i < 3; ++i) {
    sgd.zero_grad();
    sum(mul(w, w)).backward();
    sgd.step();
  }
  check(std::abs(w.detach().select(0, 0).item() - std::pow(0.8, 3)) < 1e-15, "sgd closed form");
  check(sgd.state(w).empty(), "SGD without momentum keeps no state");

  // Two groups with different options; the second group's lr is used.
  Tensor a = leaf({4}), b = leaf({2, 3});
  optim::Adam adam({a}, optim::AdamOptions(0.01));
  optim::AdamOptions second(0.1);
  second.amsgrad = true;
  adam.add_param_group({b}, second);
  check(adam.num_param_groups() == 2 && adam.lr(1) == 0.1, "param groups");
  train(adam, {a, b}, 3);
  check(adam.state(a).count("exp_avg") && adam.state(a).count("exp_avg_sq") && !adam.state(a).count("max_exp_avg_sq"),
        "adam state names");
  check(adam.state(b).count("max_exp_avg_sq") == 1, "amsgrad state in the amsgrad group only");
  check(adam.state(a).at("step").item() == 3.0 && adam.state(a).at("step").dtype() == DType::Float32,
        "step counter is a float32 scalar");
  adam.set_lr(0.5);
  check(adam.lr(0) == 0.5 && adam.lr(1) == 0.5, "set_lr");

  // Adagrad creates its state with the group.
  Tensor c = leaf({5});
  optim::AdagradOptions ao;
  ao.initial_accumulator_value = 0.25;
  optim::Adagrad adagrad({c}, ao);
  check(adagrad.state(c).count("sum") && adagrad.state(c).at("sum").select(0, 2).item() == 0.25,
        "adagrad state at construction");

  // zero_grad.
  Tensor d = leaf({3});
  optim::RMSprop rms({d});
  sum(mul(d, d)).backward();
  Tensor g = d.grad();
  rms.zero_grad(false);
  check(d.grad().get() == g.get() && sum(abs(g)).item() == 0.0, "zero_grad(false) zeroes in place");
  rms.zero_grad();
  check(!d.grad().defined(), "zero_grad() drops the gradient");
  rms.step();  // no gradients: nothing to do
  check(rms.state(d).empty(), "no state without a gradient");

  // Closure.
  int calls = 0;
  Tensor loss = rms.step([&] {
    ++calls;
    rms.zero_grad();
    Tensor l = sum(mul(d, d));
    l.backward();
    return l;
  });
  check(calls == 1 && loss.defined() && rms.state(d).count("square_avg"), "step with a closure");
}

// Train, save the optimizer state to a safetensors file, keep training; a fresh optimizer that
// loads the file and trains on copies of the saved parameters ends with the same bits.
template <typename Opt, typename Options>
void test_resume(const char* name, const Options& options, const std::string& dir) {
  std::vector<Tensor> ps = {leaf({6}), leaf({3, 4}, DType::Float64)};
  Opt opt(ps, options);
  train(opt, ps, 7);
  std::vector<Tensor> saved_params;
  for (const Tensor& p : ps) saved_params.push_back(copy_leaf(p));
  const std::string path = dir + "/optim_" + name + ".safetensors";
  opt.set_lr(opt.lr() * 0.5);  // as a schedule would: the file must carry the changed lr
  io::save_safetensors(path, opt.state_dict());
  train(opt, ps, 9);

  Opt resumed(saved_params, options);
  resumed.load_state_dict(io::load_safetensors(path).tensors);
  check(resumed.lr() == opt.lr(), std::string(name) + ": lr restored");
  train(resumed, saved_params, 9);
  bool same = true;
  for (size_t i = 0; i < ps.size(); ++i) same = same && same_bits(ps[i], saved_params[i]);
  check(same, std::string(name) + ": resume from state_dict file is bit-exact");
  std::remove(path.c_str());

  io::NamedTensors bad = {{"state.7.exp_avg", zeros({6})}};
  expect_throw<ValueError>([&] { resumed.load_state_dict(bad); }, std::string(name) + ": bad index", "parameter 7");
  bad = {{"state.0.exp_avg", zeros({5})}};
  expect_throw<ValueError>([&] { resumed.load_state_dict(bad); }, std::string(name) + ": bad shape", "shape");
}

void test_clip_and_penalties() {
  Tensor a = leaf({2}), b = leaf({1}, DType::Float64);
  a.set_grad(from_data(std::vector<float>{3.0f, 0.0f}.data(), {2}, DType::Float32));
  b.set_grad(from_data(std::vector<double>{4.0}.data(), {1}, DType::Float64));
  Tensor total = optim::clip_grad_norm_({a.grad(), b.grad()}, 1.0);
  check(total.dtype() == DType::Float64 && std::abs(total.item() - 5.0) < 1e-12, "total norm 5");
  check(std::abs(b.grad().select(0, 0).item() - 4.0 / (5.0 + 1e-6)) < 1e-12, "clipped grad");
  check(optim::total_norm({a.grad(), b.grad()}, INFINITY).item() > 0.79, "inf norm");
  optim::clip_grad_value_({a.grad(), b.grad()}, 0.1);
  check(b.grad().select(0, 0).item() == 0.1, "clip value");
  Tensor nonfinite = full({2}, INFINITY);
  expect_throw<Error>([&] { optim::clip_grad_norm_({nonfinite}, 1.0, 2.0, true); }, "nonfinite", "non-finite");

  Tensor w = from_data(std::vector<double>{-2.0, 0.0, 3.0}.data(), {3}, DType::Float64);
  w.set_requires_grad(true);
  Tensor l1 = optim::l1_penalty({w});
  Tensor l2 = optim::l2_penalty({w});
  check(l1.item() == 5.0 && l2.item() == 6.5, "penalty values");
  add(l1, l2).backward();
  Tensor g = w.grad();
  check(g.select(0, 0).item() == -3.0 && g.select(0, 1).item() == 0.0 && g.select(0, 2).item() == 4.0,
        "penalty gradients sign(w) + w");
}

}  // namespace

int main(int argc, char** argv) {
  manual_seed(42);
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp ? tmp : "/tmp";
  test_validation();
  test_functional_matches_kernels();
  test_classes_and_groups();
  optim::SGDOptions sgd(0.05);
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  test_resume<optim::SGD>("sgd", sgd, dir);
  optim::AdamOptions adam(0.01);
  adam.amsgrad = true;
  test_resume<optim::Adam>("adam", adam, dir);
  test_resume<optim::AdamW>("adamw", optim::AdamWOptions(0.01), dir);
  optim::AdagradOptions adagrad(0.05);
  adagrad.lr_decay = 0.01;
  test_resume<optim::Adagrad>("adagrad", adagrad, dir);
  optim::RMSpropOptions rms(0.01);
  rms.centered = true;
  rms.momentum = 0.5;
  test_resume<optim::RMSprop>("rmsprop", rms, dir);
  test_clip_and_penalties();
  std::printf("optim: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
