// Trains a 2-8-1 tanh/sigmoid network on XOR with autograd and ember::optim::SGD, no Python involved.
// Prints the loss as it goes; exits non-zero unless the network fits XOR.
#include <cstdio>

#include <ember/ember.h>

int main() {
  using namespace ember;
  manual_seed(0);
  const float xs[] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float ys[] = {0, 1, 1, 0};
  Tensor X = from_data(xs, {4, 2}, DType::Float32);
  Tensor Y = from_data(ys, {4, 1}, DType::Float32);

  Tensor W1 = mul(randn({2, 8}), 1.0).set_requires_grad(true);
  Tensor b1 = zeros({8}).set_requires_grad(true);
  Tensor W2 = mul(randn({8, 1}), 1.0).set_requires_grad(true);
  Tensor b2 = zeros({1}).set_requires_grad(true);
  std::vector<Tensor> params{W1, b1, W2, b2};

  optim::SGD opt(params, optim::SGDOptions(0.5));  // torch.optim.SGD's rule, one fused call per step
  double loss_value = 0;
  for (int step = 0; step <= 2000; ++step) {
    Tensor h = tanh(add(matmul(X, W1), b1));
    Tensor out = sigmoid(add(matmul(h, W2), b2));
    Tensor diff = sub(out, Y);
    Tensor loss = mean(mul(diff, diff));
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_value = loss.item();
    if (step % 500 == 0) std::printf("step %4d  loss %.6f\n", step, loss_value);
  }
  Tensor pred = sigmoid(add(matmul(tanh(add(matmul(X, W1), b1)), W2), b2));
  std::printf("predictions: %.3f %.3f %.3f %.3f\n", pred.data<float>()[0], pred.data<float>()[1],
              pred.data<float>()[2], pred.data<float>()[3]);
  std::printf("final loss %.6f\n", loss_value);
  return loss_value < 0.01 ? 0 : 1;
}
