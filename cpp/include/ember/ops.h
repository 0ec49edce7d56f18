// Tensor operations with numpy broadcasting and autograd. Each op validates its arguments and
// throws an ember::Error subclass naming the shapes and dtypes involved.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "ember/tensor.h"

namespace ember {

// --- creation --------------------------------------------------------------------------------
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
Tensor scalar_tensor(double value, DType dtype = DType::Float32);
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::Float32);
Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::Float32);
Tensor rand(const Shape& shape, DType dtype = DType::Float32);     // U[0, 1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32);    // N(0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64);
Tensor randperm(int64_t n);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
// Copies `nbytes` of contiguous data into a new tensor.
Tensor from_data(const void* data, const Shape& shape, DType dtype);

// --- elementwise -------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// scalar forms: the scalar takes the tensor's dtype (as torch's "weak" Python scalars)
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor rsub(const Tensor& a, double b);  // b - a
Tensor rdiv(const Tensor& a, double b);  // b / a

Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor sign(const Tensor& a);
Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor relu(const Tensor& a);

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
Tensor compare(const Tensor& a, const Tensor& b, CompareOp op);  // bool result, no grad
Tensor logical_not(const Tensor& a);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor isnan(const Tensor& a);
Tensor isfinite(const Tensor& a);

// --- in place (bump the version counter; record autograd by rebasing history) ------------------
Tensor& add_(Tensor& self, const Tensor& other, double alpha = 1.0);
Tensor& sub_(Tensor& self, const Tensor& other, double alpha = 1.0);
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& div_(Tensor& self, const Tensor& other);

// --- reductions (dims empty = all dims) --------------------------------------------------------
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor var(const Tensor& a, const std::vector<int64_t>& dims = {}, double correction = 1.0, bool keepdim = false);
Tensor std(const Tensor& a, const std::vector<int64_t>& dims = {}, double correction = 1.0, bool keepdim = false);
Tensor logsumexp(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor prod_all(const Tensor& a);
// max/min over one dim: (values, indices)
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& a);  // over all elements
Tensor min(const Tensor& a);
Tensor argmax(const Tensor& a, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& a, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// Reduces a broadcast gradient back to `shape` (sum over broadcast dims).
Tensor sum_to(const Tensor& a, const Shape& shape);

// --- linear algebra ----------------------------------------------------------------------------
Tensor matmul(const Tensor& a, const Tensor& b);
namespace linalg {
Tensor solve(const Tensor& A, const Tensor& B);
Tensor inv(const Tensor& A);
Tensor det(const Tensor& A);
}  // namespace linalg

// --- joining and splitting ---------------------------------------------------------------------
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& a, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim = 0);
Tensor broadcast_to(const Tensor& a, const Shape& shape);
Shape broadcast_shapes(const Shape& a, const Shape& b);

// --- indexing ----------------------------------------------------------------------------------
struct TensorIndex {
  enum class Kind { Integer, Slice, None, Ellipsis, Tensor };
  Kind kind = Kind::Slice;
  int64_t integer = 0;
  std::optional<int64_t> start, stop;
  int64_t step = 1;
  ember::Tensor tensor;  // int64 or bool

  static TensorIndex Int(int64_t i) { TensorIndex x; x.kind = Kind::Integer; x.integer = i; return x; }
  static TensorIndex Slice(std::optional<int64_t> a, std::optional<int64_t> b, int64_t s = 1) {
    TensorIndex x; x.kind = Kind::Slice; x.start = a; x.stop = b; x.step = s; return x;
  }
  static TensorIndex NewAxis() { TensorIndex x; x.kind = Kind::None; return x; }
  static TensorIndex Dots() { TensorIndex x; x.kind = Kind::Ellipsis; return x; }
  static TensorIndex Tensor(const ember::Tensor& t) { TensorIndex x; x.kind = Kind::Tensor; x.tensor = t; return x; }
};
Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices);
// self[indices] = value (value broadcast to the indexed shape); records autograd.
void index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value);
// Rows of `self` along dim 0 picked by an int64 index vector (the data loader's gather).
Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index);
Tensor nonzero(const Tensor& a);  // (count, ndim) int64
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value);

// --- threads and random numbers ------------------------------------------------------------------
void set_num_threads(int n);
int get_num_threads();
// The vector instruction set the CPU kernels use now: "avx512", "avx2" or "generic" (the best the
// CPU has, capped by the environment variable EMBER_CPU=avx2 / generic).
const char* cpu_isa();
void manual_seed(uint64_t seed);

}  // namespace ember
