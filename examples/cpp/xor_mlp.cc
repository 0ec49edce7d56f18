// Trains a 2-8-1 tanh/sigmoid network on XOR with ember::nn and ember::optim, no Python involved.
// Prints the loss as it goes, saves the trained weights (safetensors, loadable from Python with
// ember.load or model.load) and exits non-zero unless the network fits XOR.
//   xor_mlp [weights.safetensors]
#include <cstdio>
#include <exception>

#include <ember/ember.h>

int main(int argc, char** argv) {
  using namespace ember;
  try {
    manual_seed(0);
    const float xs[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float ys[] = {0, 1, 1, 0};
    Tensor X = from_data(xs, {4, 2}, DType::Float32);
    Tensor Y = from_data(ys, {4, 1}, DType::Float32);

    // Children are named "0".."3", so the parameters are "0.weight", "0.bias", "2.weight", "2.bias":
    // the names Python's nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid()) uses.
    nn::Sequential model(nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1), nn::Sigmoid());
    optim::SGDOptions options(0.5);
    options.momentum = 0.9;
    optim::SGD optimizer(model.parameters(), options);

    double loss_value = 0;
    for (int step = 0; step <= 1000; ++step) {
      Tensor loss = functional::mse_loss(model(X), Y);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_value = loss.item();
      if (step % 250 == 0) std::printf("step %4d  loss %.6f\n", step, loss_value);
    }

    model.eval();
    autograd::NoGradGuard no_grad;
    Tensor pred = model(X);
    const float* p = pred.data<float>();
    std::printf("predictions: %.3f %.3f %.3f %.3f\n", p[0], p[1], p[2], p[3]);
    std::printf("final loss %.6f\n", loss_value);
    if (argc > 1) {
      model.save(argv[1]);
      std::printf("saved %s\n", argv[1]);
    }
    return loss_value < 0.01 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xor_mlp: %s\n", e.what());
    return 2;
  }
}
