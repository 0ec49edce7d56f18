// Runs a LeNet-5 trained in Python on inputs read from a file: the embedding use case.
//   infer_safetensors MODEL.safetensors INPUT.safetensors [LOGITS.safetensors]
// MODEL: the state dict of python/ember/models/cnn.py's LeNet5 (model.save(path) in Python).
// INPUT: a tensor named "input", [N, C, H, W] or [C, H, W] (ember.save({"input": x}, path)).
// Prints the logits and the predicted class of each sample; writes the logits (tensor
// "logits") to LOGITS when given. Exit status 1 on any error, with the reason on stderr.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include <ember/ember.h>

using namespace ember;

namespace {

// Python's LeNet5(input_shape=(c, h, w)): the same modules under the same names
// (features.0/3 convolutions, classifier.1/3/5 linear layers), so its checkpoint loads by name.
std::shared_ptr<nn::Sequential> lenet5(int64_t c, int64_t h, int64_t w, int64_t num_classes = 10) {
  const int64_t pad = std::min(h, w) < 32 ? 2 : 0;  // 28x28 digits get the classic 32x32 geometry
  h = (h + 2 * pad - 4) / 2, w = (w + 2 * pad - 4) / 2;
  h = (h - 4) / 2, w = (w - 4) / 2;
  if (h < 1 || w < 1) throw ValueError("LeNet-5 needs images of at least 28x28 pixels");

  auto features = std::make_shared<nn::Sequential>(
      nn::Conv2d(nn::Conv2dOptions(c, 6, 5).padding(pad)), nn::ReLU(), nn::MaxPool2d(2),
      nn::Conv2d(6, 16, 5), nn::ReLU(), nn::MaxPool2d(2));
  auto classifier = std::make_shared<nn::Sequential>(
      nn::Flatten(), nn::Linear(16 * h * w, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(),
      nn::Linear(84, num_classes));
  auto model = std::make_shared<nn::Sequential>();
  model->push_back("features", features).push_back("classifier", classifier);
  return model;
}

Tensor read_input(const std::string& path) {
  for (auto& [name, t] : io::load_safetensors(path).tensors) {
    if (name == "input") return t;
  }
  throw ValueError(path + " has no tensor named \"input\"");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors INPUT.safetensors [LOGITS.safetensors]\n", argv[0]);
    return 1;
  }
  try {
    Tensor x = read_input(argv[2]);
    if (x.dim() == 3) x = x.unsqueeze(0);
    if (x.dim() != 4) throw ValueError(str("input must be [N, C, H, W] or [C, H, W], got ", x.shape()));
    if (x.dtype() != DType::Float32) x = x.to(DType::Float32);

    auto model = lenet5(x.size(1), x.size(2), x.size(3));
    model->load(argv[1]);  // strict: every name and shape must match
    model->eval();

    autograd::NoGradGuard no_grad;
    Tensor logits = model->forward(x).contiguous();
    Tensor predicted = argmax(logits, 1);
    const int64_t n = logits.size(0), k = logits.size(1);
    const float* v = logits.data<float>();
    std::printf("logits %lld x %lld\n", static_cast<long long>(n), static_cast<long long>(k));
    for (int64_t i = 0; i < n; ++i) {
      std::printf("%lld:", static_cast<long long>(i));
      for (int64_t j = 0; j < k; ++j) std::printf(" %.6g", v[i * k + j]);
      std::printf("  -> class %lld\n", static_cast<long long>(predicted.data<int64_t>()[i]));
    }
    if (argc == 4) {
      io::save_safetensors(argv[3], {{"logits", logits}});
      std::printf("wrote %s\n", argv[3]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "infer_safetensors: %s\n", e.what());
    return 1;
  }
}
