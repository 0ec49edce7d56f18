// Tensor geometry, storage and the autograd accessors. View ops live in ops/views.cc, copies in
// ops/copy.cc.
#include "ember/tensor.h"

#include <limits>

#include "core/allocator.h"
#include "ember/autograd.h"

namespace ember {

// --- Device -----------------------------------------------------------------------------------
std::string Device::str() const {
  if (type == DeviceType::CPU) return "cpu";
  return index == 0 ? "cuda" : "cuda:" + std::to_string(index);
}

Device Device::parse(const std::string& s) {
  if (s == "cpu") return Device{};
  if (s.rfind("cuda", 0) == 0) {
    Device d{DeviceType::CUDA, 0};
    if (s.size() > 4) {
      EMBER_CHECK(s[4] == ':' && s.size() > 5, ValueError, "invalid device string '", s, "'");
      try {
        size_t used = 0;
        d.index = std::stoi(s.substr(5), &used);
        EMBER_CHECK(used == s.size() - 5 && d.index >= 0, ValueError, "invalid device string '", s, "'");
      } catch (const std::logic_error&) {
        throw ValueError(ember::str("invalid device string '", s, "'"));
      }
    }
    return d;
  }
  throw ValueError(ember::str("invalid device string '", s, "': expected 'cpu', 'cuda' or 'cuda:N'"));
}

bool cuda_is_built() {
#ifdef EMBER_WITH_CUDA
  return true;
#else
  return false;
#endif
}

// --- Storage ----------------------------------------------------------------------------------
std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto s = std::make_shared<Storage>();
  s->data = alloc::allocate(nbytes);
  s->nbytes = nbytes;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->external = std::move(owner);
  return s;
}

Storage::~Storage() {
  // Test the control block, not the pointer: an owner may be a null pointer with a custom
  // deleter (a "keep alive" handle), and its memory must never enter our cache.
  if (external.use_count() == 0) alloc::release(data, nbytes);
}

// --- geometry ---------------------------------------------------------------------------------
int64_t TensorImpl::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    EMBER_CHECK(s >= 0, ValueError, "negative dimension ", s, " in shape ", shape);
    if (s != 0 && n > std::numeric_limits<int64_t>::max() / s)
      throw ValueError(ember::str("shape ", shape, " has too many elements"));
    n *= s;
  }
  return n;
}

int64_t wrap_dim(int64_t d, int64_t ndim) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, like torch
  EMBER_CHECK(d >= -n && d < n, IndexError, "dimension out of range (expected to be in range of [", -n,
              ", ", n - 1, "], but got ", d, ")");
  return d < 0 ? d + n : d;
}

// wrap_dim lets a 0-d tensor take dim 0 (for reductions); it has no size or stride to read there.
int64_t Tensor::size(int64_t d) const {
  EMBER_CHECK(dim() > 0, IndexError, "dimension specified as ", d, " but tensor has no dimensions");
  return impl_->shape[wrap_dim(d, dim())];
}
int64_t Tensor::stride(int64_t d) const {
  EMBER_CHECK(dim() > 0, IndexError, "dimension specified as ", d, " but tensor has no dimensions");
  return impl_->strides[wrap_dim(d, dim())];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = impl_->shape.size(); i-- > 0;) {
    if (impl_->shape[i] == 1) continue;
    if (impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

double Tensor::item() const {
  EMBER_CHECK(numel() == 1, ValueError, "a Tensor with ", numel(), " elements cannot be converted to a scalar");
  return dispatch_all(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return static_cast<double>(*static_cast<const T*>(raw_data()));
  });
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor empty(const Shape& shape, DType dtype) {
  int64_t n = shape_numel(shape);
  size_t isz = ember::itemsize(dtype);
  if (n > 0 && static_cast<uint64_t>(n) > std::numeric_limits<size_t>::max() / 2 / isz)
    throw OutOfMemoryError(str("tensor of shape ", shape, " is too large"));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<size_t>(n) * isz);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// --- autograd accessors -------------------------------------------------------------------------
bool Tensor::requires_grad() const { return impl_->requires_grad || impl_->grad_fn != nullptr; }

Tensor& Tensor::set_requires_grad(bool r) {
  if (!is_leaf()) {
    EMBER_CHECK(r, Error, "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use detach()");
    return *this;
  }
  EMBER_CHECK(!r || is_floating(dtype()), Error, "only Tensors of floating point dtype can require gradients, got ",
              dtype_name(dtype()));
  impl_->requires_grad = r;
  return *this;
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    EMBER_CHECK(g.shape() == shape(), ValueError, "assigned grad has shape ", g.shape(), " but the tensor has shape ",
                shape());
    EMBER_CHECK(g.dtype() == dtype(), TypeError, "assigned grad has dtype ", dtype_name(g.dtype()),
                " but the tensor has dtype ", dtype_name(dtype()));
  }
  impl_->grad = g.impl();
}

void Tensor::retain_grad() {
  EMBER_CHECK(requires_grad(), Error, "can't retain_grad on Tensor that has requires_grad=False");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  impl_->grad_fn->retained.emplace_back(impl_->output_nr, impl_);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph);
}

Tensor Tensor::detach() const {
  Tensor t = make_view(*this, shape(), strides(), offset());
  return t;
}

}  // namespace ember
