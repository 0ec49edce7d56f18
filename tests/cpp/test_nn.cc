// Checks ember::nn: registration order and dotted names (torch's), state_dict / load_state_dict
// (round trip, strict errors, nothing copied on error), save/load through safetensors, every
// layer's forward against the functional op called by hand (bit for bit), train/eval behaviour
// of dropout and batch norm, initialisation bounds and seeding, argument errors, and a few
// optimizer steps that lower a loss.
// Prints "nn: N passed, M failed" and exits non-zero on any failure.
//
//   test_nn --save-init PATH   writes the state dict of a fixed set of layers built right after
//                              ember::manual_seed(1234), for tests/test_cpp.py to compare with
//                              the same layers built by Python's ember.nn (same seed, same bits).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ember/ember.h"

using namespace ember;
using functional::Reduction;

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

// Runs f, expecting an exception of type E whose message contains each of `parts`.
template <typename E>
void expect_throw(const std::string& what, const std::function<void()>& f, std::vector<std::string> parts = {}) {
  try {
    f();
  } catch (const E& e) {
    bool ok = true;
    for (auto& p : parts) ok = ok && std::strstr(e.what(), p.c_str()) != nullptr;
    if (!ok) std::printf("  message was: %s\n", e.what());
    check(ok, what + " (message)");
    return;
  } catch (const std::exception& e) {
    check(false, what + ": wrong exception: " + e.what());
    return;
  }
  check(false, what + ": no exception");
}

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(DType::Float64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

bool same(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  auto x = values(a), y = values(b);
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])))) return false;
  }
  return true;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto x = values(a), y = values(b);
  if (x.size() != y.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

std::vector<std::string> names(const nn::NamedTensors& list) {
  std::vector<std::string> out;
  for (auto& e : list) out.push_back(e.first);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// A model with its own forward: registered in the order parameter, buffer, submodules.
class Net : public nn::Module {
 public:
  Net() : Module("Net") {
    scale = register_parameter("scale", ones({1}));
    steps = register_buffer("steps", zeros({}, DType::Int64));
    cache = register_buffer("cache", zeros({2}), /*persistent=*/false);
    body = register_module("body", nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2, /*bias=*/false)));
    norm = register_module("norm", std::make_shared<nn::BatchNorm1d>(2));
  }
  Tensor forward(const Tensor& x) override { return mul(norm->forward(body->forward(x)), scale); }

  Tensor scale, steps, cache;
  std::shared_ptr<nn::Sequential> body;
  std::shared_ptr<nn::BatchNorm1d> norm;
};

void test_registration() {
  Net net;
  check(joined(names(net.named_parameters())) == "scale,body.0.weight,body.0.bias,body.2.weight,norm.weight,norm.bias",
        "named_parameters order and names: " + joined(names(net.named_parameters())));
  check(joined(names(net.named_buffers())) ==
            "steps,cache,norm.running_mean,norm.running_var,norm.num_batches_tracked",
        "named_buffers: " + joined(names(net.named_buffers())));
  // state_dict: per module parameters then persistent buffers, depth first (torch's order)
  check(joined(names(net.state_dict())) ==
            "scale,steps,body.0.weight,body.0.bias,body.2.weight,norm.weight,norm.bias,norm.running_mean,"
            "norm.running_var,norm.num_batches_tracked",
        "state_dict names: " + joined(names(net.state_dict())));
  std::vector<std::string> mods;
  for (auto& [n, m] : net.named_modules()) mods.push_back(n + ":" + m->type_name());
  check(joined(mods) == ":Net,body:Sequential,body.0:Linear,body.1:ReLU,body.2:Linear,norm:BatchNorm1d",
        "named_modules: " + joined(mods));
  check(net.parameters().size() == 6, "parameters() count");
  check(net.num_parameters() == 1 + 12 + 4 + 8 + 2 + 2, "num_parameters");
  check(net.children().size() == 2, "children()");
  // parameters() hands out the very tensors the layers use
  check(net.parameters()[1].get() == net.body->at<nn::Linear>(0)->weight.get(), "parameters are the layer's handles");
  check(net.get_parameter("body.2.weight").get() == net.body->at<nn::Linear>(2)->weight.get(), "get_parameter");
  check(net.get_buffer("norm.running_var").get() == net.norm->running_var.get(), "get_buffer");
  check(net.get_submodule("body.1")->type_name() == "ReLU", "get_submodule");
  expect_throw<ValueError>("get_submodule of a missing path", [&] { net.get_submodule("body.7"); }, {"'7'"});
  expect_throw<ValueError>("get_parameter of a missing name", [&] { net.get_parameter("body.0.gamma"); }, {"gamma"});
  for (auto& p : net.parameters()) check(p.requires_grad() && p.is_leaf(), "parameters are leaves requiring grad");
  check(!net.steps.requires_grad(), "buffers don't require grad");

  // a module shared by two parents is listed once
  auto shared = std::make_shared<nn::Linear>(2, 2);
  nn::Sequential twice(shared, nn::Tanh(), shared);
  check(twice.parameters().size() == 2, "shared module's parameters listed once");
  check(joined(names(twice.named_parameters())) == "0.weight,0.bias", "shared module named at first use");

  // name rules
  nn::Module m;
  expect_throw<ValueError>("empty name", [&] { m.register_parameter("", ones({1})); }, {"empty"});
  expect_throw<ValueError>("dotted name", [&] { m.register_buffer("a.b", ones({1})); }, {"a.b"});
  m.register_parameter("w", ones({1}));
  expect_throw<ValueError>("duplicate name", [&] { m.register_buffer("w", ones({1})); }, {"'w'"});
  expect_throw<TypeError>("integer parameter requiring grad", [&] { m.register_parameter("i", zeros({1}, DType::Int64)); });
  expect_throw<NotImplementedError>("forward of a bare Module", [&] { m.forward(ones({1})); });
  expect_throw<ValueError>("null submodule", [&] { m.register_module("x", std::shared_ptr<nn::Linear>()); });
  m.register_module("lin", nn::Linear(1, 1));
  check(m.named_parameters().size() == 3, "by-value register_module registers");
  m.replace_module("lin", std::make_shared<nn::Linear>(1, 1, false));
  check(m.named_parameters().size() == 2, "replace_module");
}

void test_sequential() {
  manual_seed(7);
  nn::Sequential seq(nn::Linear(5, 4), nn::Tanh(), nn::Linear(4, 3), nn::LogSoftmax(1));
  check(seq.size() == 4, "Sequential size");
  check(seq[-1]->type_name() == "LogSoftmax" && seq[1]->type_name() == "Tanh", "indexing incl. negative");
  expect_throw<IndexError>("index out of range", [&] { seq[4]; }, {"out of range", "length 4"});
  expect_throw<TypeError>("at<T> of another type", [&] { seq.at<nn::Linear>(1); }, {"Tanh"});
  Tensor x = randn({6, 5});
  auto l0 = seq.at<nn::Linear>(0), l2 = seq.at<nn::Linear>(2);
  Tensor by_hand = functional::log_softmax(
      functional::linear(tanh(functional::linear(x, l0->weight, l0->bias)), l2->weight, l2->bias), 1);
  check(same(seq(x), by_hand), "Sequential forward equals the ops by hand");
  seq.push_back(nn::Identity());
  check(seq.size() == 5 && seq.named_children().back().first == "4", "push_back names str(size)");
  seq.set(4, std::make_shared<nn::Softmax>(1));
  check(seq[4]->type_name() == "Softmax", "set replaces");

  // named children (Python's Sequential(OrderedDict(...)))
  nn::Sequential named({{"features", std::make_shared<nn::Sequential>(nn::Linear(2, 2))},
                        {"head", std::make_shared<nn::Linear>(2, 1)}});
  check(joined(names(named.named_parameters())) == "features.0.weight,features.0.bias,head.weight,head.bias",
        "named Sequential names");

  nn::ModuleList list(nn::Linear(2, 2), nn::ReLU());
  list.push_back(nn::Linear(2, 3));
  check(list.size() == 3 && joined(names(list.named_parameters())) == "0.weight,0.bias,2.weight,2.bias",
        "ModuleList");
  int count = 0;
  for (auto& [name, m] : list) count += m->type_name() == "Linear";
  check(count == 2, "ModuleList iteration");
  std::string r = nn::Sequential(nn::Linear(2, 3), nn::ReLU()).repr();
  check(r == "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)", "repr: " + r);
}

void test_layers_match_ops() {
  manual_seed(11);
  {
    nn::Conv2d conv(nn::Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).padding({1, 0}).dilation({1, 2}).groups(2));
    check(conv.weight.shape() == Shape({6, 2, 3, 2}) && conv.bias.shape() == Shape({6}), "Conv2d shapes");
    Tensor x = randn({2, 4, 9, 8});
    check(same(conv(x), functional::conv2d(x, conv.weight, conv.bias, {2, 1}, {1, 0}, {1, 2}, 2)), "Conv2d forward");
    nn::Conv2d same_pad(nn::Conv2dOptions(4, 2, 3).padding("same").dilation(2).bias(false));
    check(!same_pad.bias.defined() && same_pad.padding == nn::Size2(2), "Conv2d padding same, no bias");
    check(same_pad(x).shape() == Shape({2, 2, 9, 8}), "Conv2d same keeps the size");
    nn::Conv2d valid(nn::Conv2dOptions(4, 2, 3).padding("valid"));
    check(valid(x).shape() == Shape({2, 2, 7, 6}), "Conv2d valid");
  }
  {
    nn::Conv1d conv(nn::Conv1dOptions(3, 4, 3).stride(2).padding(1).dilation(2));
    Tensor x = randn({2, 3, 11});
    check(same(conv(x), functional::conv1d(x, conv.weight, conv.bias, 2, 1, 2, 1)), "Conv1d forward");
    check(nn::Conv1d(nn::Conv1dOptions(3, 4, 5).padding("same"))(x).shape() == Shape({2, 4, 11}), "Conv1d same");
  }
  Tensor img = randn({2, 3, 8, 7});
  check(same(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true))(img),
             functional::max_pool2d(img, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true)),
        "MaxPool2d forward");
  check(same(nn::MaxPool2d(2)(img), functional::max_pool2d(img, {2, 2}, {2, 2})), "MaxPool2d stride = kernel");
  check(same(nn::AvgPool2d(nn::AvgPool2dOptions({2, 3}).padding({1, 1}).count_include_pad(false))(img),
             functional::avg_pool2d(img, {2, 3}, {2, 3}, {1, 1}, false, false)),
        "AvgPool2d forward");
  check(same(nn::AdaptiveAvgPool2d({3, 2})(img), functional::adaptive_avg_pool2d(img, {3, 2})), "AdaptiveAvgPool2d");
  Tensor seq = randn({2, 3, 10});
  check(same(nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(2).dilation(2))(seq),
             functional::max_pool1d(seq, 3, 2, 0, 2, false)),
        "MaxPool1d forward");
  check(nn::Flatten()(img).shape() == Shape({2, 168}), "Flatten");
  check(nn::Flatten(0, 1)(img).shape() == Shape({6, 8, 7}), "Flatten(0, 1)");
  check(nn::Unflatten(1, {4, -1})(randn({2, 12, 5})).shape() == Shape({2, 4, 3, 5}), "Unflatten");
  expect_throw<ValueError>("Unflatten with a wrong product", [&] { nn::Unflatten(1, {5, 2})(randn({2, 12})); },
                           {"[5, 2]"});
  check(same(nn::Identity()(img), img), "Identity");

  Tensor v = randn({4, 6});
  check(same(nn::ReLU()(v), relu(v)) && same(nn::Sigmoid()(v), sigmoid(v)) && same(nn::Tanh()(v), tanh(v)),
        "ReLU / Sigmoid / Tanh");
  check(same(nn::LeakyReLU(0.2)(v), functional::leaky_relu(v, 0.2)), "LeakyReLU");
  check(same(nn::ELU(0.5)(v), functional::elu(v, 0.5)) && same(nn::SELU()(v), functional::selu(v)), "ELU / SELU");
  check(same(nn::GELU("tanh")(v), functional::gelu(v, "tanh")) && same(nn::GELU()(v), functional::gelu(v)), "GELU");
  check(same(nn::SiLU()(v), functional::silu(v)) && same(nn::Softplus(2, 10)(v), functional::softplus(v, 2, 10)),
        "SiLU / Softplus");
  check(same(nn::Hardtanh(-0.5, 0.5)(v), functional::hardtanh(v, -0.5, 0.5)) && same(nn::ReLU6()(v),
        functional::relu6(v)), "Hardtanh / ReLU6");
  check(same(nn::Maxout(3)(v), functional::maxout(v, 3, 1)), "Maxout");
  check(same(nn::Softmax(0)(v), functional::softmax(v, 0)) && same(nn::LogSoftmax(1)(v), functional::log_softmax(v, 1)),
        "Softmax / LogSoftmax");
  expect_throw<ValueError>("GELU bad approximate", [] { nn::GELU("fast"); }, {"fast"});

  nn::LayerNorm ln(nn::LayerNormOptions({2, 3}).eps(1e-3));
  Tensor y = randn({4, 2, 3});
  check(same(ln(y), functional::layer_norm(y, {2, 3}, ln.weight, ln.bias, 1e-3)), "LayerNorm forward");
  check(joined(names(nn::LayerNorm(nn::LayerNormOptions({3}).bias(false)).named_parameters())) == "weight",
        "LayerNorm without bias");

  nn::Embedding emb(nn::EmbeddingOptions(10, 4).padding_idx(-1));
  check(*emb.options.padding_idx() == 9, "Embedding padding_idx wraps");
  check(values(emb.weight.select(0, 9)) == std::vector<double>(4, 0.0), "Embedding padding row starts at zero");
  const int64_t idx[] = {1, 9, 3, 1, 0, 2};
  Tensor ix = from_data(idx, {2, 3}, DType::Int64);
  check(same(emb(ix), functional::embedding(ix, emb.weight, 9)), "Embedding forward");
  sum(emb(ix)).backward();
  check(values(emb.weight.grad().select(0, 9)) == std::vector<double>(4, 0.0), "Embedding padding row gets no grad");
}

void test_init() {
  manual_seed(3);
  nn::Linear a(50, 20);
  manual_seed(3);
  nn::Linear b(50, 20);
  check(same(a.weight, b.weight) && same(a.bias, b.bias), "same seed, same initial weights");
  const double bound = 1 / std::sqrt(50.0);
  auto w = values(a.weight), bias = values(a.bias);
  double lo = 1, hi = -1, mean = 0;
  for (double x : w) lo = std::min(lo, x), hi = std::max(hi, x), mean += x / w.size();
  check(lo >= -bound && hi <= bound && hi - lo > 1.8 * bound, "Linear weight ~ U(-1/sqrt(in), 1/sqrt(in))");
  check(std::fabs(mean) < 0.02, "Linear weight mean near 0");
  for (double x : bias) check(std::fabs(x) <= bound, "Linear bias bound");
  nn::Conv2d conv(3, 8, 5);  // fan_in = 3 * 25
  for (double x : values(conv.weight)) check(std::fabs(x) <= 1 / std::sqrt(75.0) + 1e-7, "Conv2d weight bound");
  nn::BatchNorm2d bn(4);
  check(values(bn.weight) == std::vector<double>(4, 1.0) && values(bn.running_var) == std::vector<double>(4, 1.0) &&
            values(bn.bias) == std::vector<double>(4, 0.0) && bn.num_batches_tracked.dtype() == DType::Int64 &&
            bn.num_batches_tracked.dim() == 0,
        "BatchNorm initial state");
  nn::Linear d(nn::LinearOptions(3, 2).dtype(DType::Float64));
  check(d.weight.dtype() == DType::Float64 && d.bias.dtype() == DType::Float64, "dtype option");

  Tensor t = empty({200, 100});
  nn::init::xavier_uniform_(t);
  double xb = std::sqrt(6.0 / 300);
  auto tv = values(t);
  check(*std::max_element(tv.begin(), tv.end()) <= xb && *std::min_element(tv.begin(), tv.end()) >= -xb,
        "xavier_uniform_ bound");
  nn::init::kaiming_normal_(t, 0, "fan_in", "relu");
  double var = 0;
  for (double x : values(t)) var += x * x / t.numel();
  check(std::fabs(var - 2.0 / 100) < 0.002, "kaiming_normal_ variance 2 / fan_in");
  nn::init::constant_(t, 0.25);
  check(values(t)[123] == 0.25, "constant_");
  check(std::fabs(nn::init::calculate_gain("tanh") - 5.0 / 3) < 1e-15, "calculate_gain tanh");
  expect_throw<ValueError>("calculate_gain unknown", [] { nn::init::calculate_gain("swish"); }, {"swish"});
  expect_throw<ValueError>("fan of a vector", [] {
    Tensor v = empty({3});
    nn::init::kaiming_uniform_(v);
  });
}

void test_argument_errors() {
  expect_throw<ValueError>("Linear in_features 0", [] { nn::Linear(0, 2); }, {"in_features"});
  expect_throw<ValueError>("Conv2d groups", [] { nn::Conv2d(nn::Conv2dOptions(4, 6, 3).groups(4)); },
                           {"divisible by groups"});
  expect_throw<ValueError>("Conv2d same with stride", [] { nn::Conv2d(nn::Conv2dOptions(1, 1, 3).stride(2).padding("same")); },
                           {"strided"});
  expect_throw<NotImplementedError>("Conv2d same with an even kernel",
                                    [] { nn::Conv2d(nn::Conv2dOptions(1, 1, 2).padding("same")); });
  expect_throw<ValueError>("bad padding string", [] { nn::Conv1d(nn::Conv1dOptions(1, 1, 3).padding("full")); },
                           {"full"});
  expect_throw<ValueError>("negative padding", [] { nn::Conv1d(nn::Conv1dOptions(1, 1, 3).padding(-1)); });
  expect_throw<TypeError>("integer dtype", [] { nn::Linear(nn::LinearOptions(2, 2).dtype(DType::Int64)); });
  expect_throw<ValueError>("dropout p", [] { nn::Dropout(1.5); }, {"1.5"});
  expect_throw<ValueError>("Embedding padding_idx", [] { nn::Embedding(nn::EmbeddingOptions(3, 2).padding_idx(3)); });
  expect_throw<ValueError>("BatchNorm2d on 2-d input", [] { nn::BatchNorm2d(3)(randn({4, 3})); },
                           {"expected 4D input", "[4, 3]"});
  expect_throw<ValueError>("Linear on the wrong width", [] { nn::Linear(3, 2)(randn({4, 5})); });
  expect_throw<ValueError>("Hardtanh bounds", [] { nn::Hardtanh(1, 0); });
}

void test_state_dict() {
  manual_seed(5);
  Net a;
  manual_seed(6);
  Net b;
  check(!same(a.body->at<nn::Linear>(0)->weight, b.body->at<nn::Linear>(0)->weight), "different seeds differ");
  {
    autograd::NoGradGuard g;
    add_(a.norm->running_mean, ones({2}));
    add_(a.steps, scalar_tensor(3, DType::Int64));
  }
  nn::LoadResult r = b.load_state_dict(a.state_dict());
  check(r.missing_keys.empty() && r.unexpected_keys.empty(), "strict load reports nothing");
  auto sa = a.state_dict(), sb = b.state_dict();
  bool all_same = sa.size() == sb.size();
  for (size_t i = 0; all_same && i < sa.size(); ++i) all_same = sa[i].first == sb[i].first && same(sa[i].second, sb[i].second);
  check(all_same, "state_dict round trip copies parameters and buffers");
  check(values(b.cache) == std::vector<double>{0, 0}, "non-persistent buffer not in state_dict");
  check(b.body->at<nn::Linear>(0)->weight.requires_grad(), "loading keeps requires_grad");

  // errors: nothing is copied when anything is wrong
  Tensor before = b.scale.clone();
  nn::NamedTensors bad = a.state_dict();
  bad.erase(bad.begin() + 2);                              // drop body.0.weight
  bad.emplace_back("body.9.weight", zeros({1}));           // unexpected
  for (auto& [n, t] : bad) {
    if (n == "norm.weight") t = zeros({3});                // wrong shape
    if (n == "scale") t = full({1}, 42.0);
  }
  expect_throw<Error>("strict load errors", [&] { b.load_state_dict(bad); },
                      {"Error(s) in loading state_dict for Net", "Unexpected key(s) in state_dict: \"body.9.weight\"",
                       "Missing key(s) in state_dict: \"body.0.weight\"",
                       "size mismatch for norm.weight: copying a param with shape (3,) from checkpoint, the shape in "
                       "current model is (2,)"});
  check(same(b.scale, before), "nothing copied on error");
  // non-strict: missing and unexpected are reported, but a shape mismatch still fails
  expect_throw<Error>("non-strict load with a shape mismatch", [&] { b.load_state_dict(bad, false); }, {"size mismatch"});
  for (auto& [n, t] : bad) {
    if (n == "norm.weight") t = zeros({2});
  }
  nn::LoadResult nr = b.load_state_dict(bad, /*strict=*/false);
  check(joined(nr.missing_keys) == "body.0.weight" && joined(nr.unexpected_keys) == "body.9.weight",
        "non-strict load lists missing / unexpected");
  check(values(b.scale) == std::vector<double>{42.0}, "non-strict load copies the rest");
  nn::NamedTensors wrong_kind = a.state_dict();
  for (auto& [n, t] : wrong_kind) {
    if (n == "scale") t = ones({1}, DType::Int64);
  }
  expect_throw<Error>("integer into a float parameter", [&] { b.load_state_dict(wrong_kind); }, {"dtype mismatch for scale"});
  nn::NamedTensors doubles = a.state_dict();
  for (auto& [n, t] : doubles) {
    if (is_floating(t.dtype())) t = t.to(DType::Float64);
  }
  b.load_state_dict(doubles);
  check(same(b.body->at<nn::Linear>(0)->weight, a.body->at<nn::Linear>(0)->weight) &&
            b.body->at<nn::Linear>(0)->weight.dtype() == DType::Float32,
        "float64 checkpoint converts into float32 parameters");

  // save / load through a safetensors file
  // a private name in the temp folder: the native and generic runs may overlap
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("ember_test_nn_" + std::to_string(std::random_device()()) + ".safetensors"))
                               .string();
  a.save(path);
  manual_seed(99);
  Net c;
  c.load(path);
  Tensor x = randn({5, 3});
  a.eval();
  c.eval();
  check(same(a(x), c(x)), "save / load round trip gives the same outputs");
  // the writer orders tensors as the safetensors library does (by dtype, then name), not as given
  auto sorted_names = [](nn::NamedTensors list) {
    auto n = names(list);
    std::sort(n.begin(), n.end());
    return joined(n);
  };
  check(sorted_names(io::load_safetensors(path).tensors) == sorted_names(a.state_dict()),
        "file holds the state_dict names");
  std::remove(path.c_str());
  expect_throw<Error>("load of a missing file", [&] { c.load("no/such/file.safetensors"); });
}

void test_modes() {
  manual_seed(21);
  nn::Sequential model(nn::Linear(8, 8), nn::Dropout(0.5), nn::BatchNorm1d(8));
  check(model.is_training() && model[1]->is_training(), "modules start in training mode");
  model.eval();
  check(!model.is_training() && !model[1]->is_training() && !model[2]->is_training(), "eval() reaches children");
  model.train();
  check(model[2]->is_training(), "train() reaches children");

  nn::Dropout drop(0.25);
  Tensor x = ones({1000});
  Tensor y = drop(x);
  int zeros_n = 0;
  bool scaled = true;
  for (double v : values(y)) {
    if (v == 0) {
      ++zeros_n;
    } else {
      scaled = scaled && std::fabs(v - 1 / 0.75) < 1e-6;
    }
  }
  check(zeros_n > 180 && zeros_n < 320 && scaled, "Dropout in training zeroes ~p and scales by 1/(1-p)");
  drop.eval();
  check(same(drop(x), x), "Dropout in eval is the identity");
  nn::Dropout2d d2(0.5);
  Tensor z = d2(ones({4, 6, 3, 3}));
  bool whole = true;
  auto zv = values(z);
  for (size_t c = 0; c < 24; ++c) {
    for (size_t k = 1; k < 9; ++k) whole = whole && zv[c * 9 + k] == zv[c * 9];
  }
  check(whole, "Dropout2d drops whole channels");

  nn::BatchNorm1d bn(3);
  Tensor batch = add(mul(randn({64, 3}), 2.0), 5.0);
  Tensor out = bn(batch);
  Tensor bm = mean(batch, {0}), bv = var(batch, {0}, 1.0);
  check(max_abs_diff(bn.running_mean, mul(bm, 0.1)) < 1e-6, "running_mean = 0.1 * batch mean");
  check(max_abs_diff(bn.running_var, add(mul(bv, 0.1), 0.9)) < 1e-5, "running_var = 0.9 + 0.1 * unbiased var");
  check(bn.num_batches_tracked.item() == 1, "num_batches_tracked counts");
  check(max_abs_diff(mean(out, {0}), zeros({3})) < 1e-5, "training normalises with batch stats");
  bn.eval();
  Tensor rm = bn.running_mean.clone();
  Tensor e = bn(batch);
  Tensor expect = functional::batch_norm(batch, bn.running_mean, bn.running_var, bn.weight, bn.bias, false);
  check(same(e, expect) && same(bn.running_mean, rm) && bn.num_batches_tracked.item() == 1,
        "eval uses running stats and updates nothing");

  nn::BatchNorm1d cma(nn::BatchNormOptions(2).momentum(std::nullopt));
  Tensor b1 = randn({8, 2}), b2 = randn({8, 2});
  cma(b1);
  cma(b2);
  Tensor avg = mul(add(mean(b1, {0}), mean(b2, {0})), 0.5);
  check(max_abs_diff(cma.running_mean, avg) < 1e-6 && cma.num_batches_tracked.item() == 2,
        "momentum = None keeps the cumulative average");
  nn::BatchNorm2d untracked(nn::BatchNormOptions(2).track_running_stats(false).affine(false));
  check(untracked.state_dict().empty() && untracked.parameters().empty(), "no affine, no running stats");
  untracked.eval();
  check(max_abs_diff(mean(untracked(randn({4, 2, 3, 3})), {0, 2, 3}), zeros({2})) < 1e-5,
        "untracked batch norm uses batch stats in eval");
}

void test_training() {
  manual_seed(1);
  // y = 3 x0 - 2 x1 + 1 with a little noise; a few steps of each optimizer lower the loss
  Tensor X = randn({64, 2});
  const float wt[] = {3, -2};
  Tensor Y = add(add(matmul(X, from_data(wt, {2, 1}, DType::Float32)), 1.0), mul(randn({64, 1}), 0.01));
  for (int which = 0; which < 3; ++which) {
    manual_seed(2);
    nn::Sequential model(nn::Linear(2, 16), nn::Tanh(), nn::Linear(16, 1));
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0) {
      optim::SGDOptions o(0.05);
      o.momentum = 0.9;
      opt = std::make_unique<optim::SGD>(model.parameters(), o);
    } else if (which == 1) {
      opt = std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions(0.02));
    } else {
      opt = std::make_unique<optim::RMSprop>(model.parameters(), optim::RMSpropOptions(0.01));
    }
    double first = 0, last = 0;
    for (int step = 0; step < 60; ++step) {
      Tensor loss = functional::mse_loss(model(X), Y);
      opt->zero_grad();
      loss.backward();
      opt->step();
      (step == 0 ? first : last) = loss.item();
    }
    check(last < 0.25 * first, str("optimizer ", which, " lowers the loss: ", first, " -> ", last));
  }
  // zero_grad on the module
  nn::Linear lin(2, 1);
  sum(lin(randn({3, 2}))).backward();
  check(lin.weight.grad().defined(), "backward fills grads");
  lin.zero_grad(false);
  check(values(lin.weight.grad()) == std::vector<double>{0, 0}, "zero_grad(false) zeroes");
  lin.zero_grad();
  check(!lin.weight.grad().defined(), "zero_grad() drops");
  lin.requires_grad_(false);
  check(!lin.weight.requires_grad() && lin.num_parameters(true) == 0, "requires_grad_(false) freezes");
}

void test_losses() {
  manual_seed(31);
  Tensor x = randn({6, 4}), t = randn({6, 4});
  const int64_t cls[] = {0, 3, 1, 1, 2, 0};
  Tensor y = from_data(cls, {6}, DType::Int64);
  check(same(nn::MSELoss()(x, t), functional::mse_loss(x, t)), "MSELoss");
  check(same(nn::L1Loss(Reduction::Sum)(x, t), functional::l1_loss(x, t, Reduction::Sum)), "L1Loss sum");
  check(same(nn::SmoothL1Loss(Reduction::None, 0.5)(x, t), functional::smooth_l1_loss(x, t, Reduction::None, 0.5)),
        "SmoothL1Loss");
  check(same(nn::HuberLoss(Reduction::Mean, 2.0)(x, t), functional::huber_loss(x, t, Reduction::Mean, 2.0)),
        "HuberLoss");
  Tensor prob = sigmoid(x), target01 = rand({6, 4});
  check(same(nn::BCELoss()(prob, target01), functional::binary_cross_entropy(prob, target01)), "BCELoss");
  Tensor pw = add(rand({4}), 0.5);
  check(same(nn::BCEWithLogitsLoss(Tensor(), Reduction::Mean, pw)(x, target01),
             functional::binary_cross_entropy_with_logits(x, target01, Tensor(), Reduction::Mean, pw)),
        "BCEWithLogitsLoss with pos_weight");
  Tensor w = add(rand({4}), 0.1);
  nn::CrossEntropyLoss ce(nn::CrossEntropyLossOptions().weight(w).label_smoothing(0.1).ignore_index(2));
  check(same(ce(x, y), functional::cross_entropy(x, y, w, 2, Reduction::Mean, 0.1)), "CrossEntropyLoss options");
  check(joined(names(ce.state_dict())) == "weight", "loss weight is a buffer in state_dict");
  check(nn::CrossEntropyLoss().state_dict().empty(), "no weight, no buffer");
  check(same(nn::NLLLoss()(functional::log_softmax(x, 1), y), functional::nll_loss(functional::log_softmax(x, 1), y)),
        "NLLLoss");
  Tensor pm = sub(mul(compare(t, zeros({}), CompareOp::Gt).to(DType::Float32), 2.0), ones({}));
  check(same(nn::HingeEmbeddingLoss(0.5)(x, pm), functional::hinge_embedding_loss(x, pm, 0.5)), "HingeEmbeddingLoss");
  check(same(nn::MultiMarginLoss(2, 0.7)(x, y), functional::multi_margin_loss(x, y, 2, 0.7)), "MultiMarginLoss");
  Tensor lp = functional::log_softmax(x, 1), q = functional::softmax(t, 1);
  check(same(nn::KLDivLoss(Reduction::BatchMean)(lp, q), functional::kl_div(lp, q, Reduction::BatchMean)),
        "KLDivLoss");
  nn::MSELoss mse;
  expect_throw<NotImplementedError>("a loss has no one-tensor forward", [&] { mse.forward(x); });
  expect_throw<ValueError>("MultiMarginLoss p", [] { nn::MultiMarginLoss(3); });
  check(nn::L1Loss(Reduction::Sum).repr() == "L1Loss(reduction=sum)", "loss repr");
}

// The layers tests/test_cpp.py rebuilds in Python after ember.manual_seed(1234), in this order.
int save_init(const std::string& path) {
  manual_seed(1234);
  nn::Sequential model;
  model.push_back(nn::Linear(7, 5))
      .push_back(nn::Linear(nn::LinearOptions(5, 3).bias(false)))
      .push_back(nn::Conv1d(nn::Conv1dOptions(4, 6, 3).groups(2)))
      .push_back(nn::Conv2d(nn::Conv2dOptions(3, 4, {3, 2}).dilation(2)))
      .push_back(nn::Embedding(nn::EmbeddingOptions(6, 4).padding_idx(2)))
      .push_back(nn::BatchNorm2d(4))
      .push_back(nn::LayerNorm(Shape{5}))
      .push_back(nn::Linear(nn::LinearOptions(4, 2).dtype(DType::Float64)));
  model.save(path);
  std::printf("wrote %s\n", path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--save-init") return save_init(argv[2]);
  try {
    test_registration();
    test_sequential();
    test_layers_match_ops();
    test_init();
    test_argument_errors();
    test_state_dict();
    test_modes();
    test_training();
    test_losses();
  } catch (const std::exception& e) {
    ++g_failed;
    std::printf("FAIL uncaught exception: %s\n", e.what());
  }
  std::printf("nn: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
