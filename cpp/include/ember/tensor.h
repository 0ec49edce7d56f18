// ember::Tensor: a shape/strides/offset view over shared, ref-counted storage, plus the autograd
// metadata (requires_grad, grad, grad_fn). Copying a Tensor copies a handle, not data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/dtype.h"
#include "ember/error.h"

namespace ember {

using Shape = std::vector<int64_t>;

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  std::string str() const;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  // "cpu", "cuda", "cuda:1"; throws ValueError for anything else.
  static Device parse(const std::string& s);
};

// True when this build has the CUDA kernels (EMBER_CUDA=ON).
bool cuda_is_built();

struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::shared_ptr<void> external;  // keeps foreign memory (e.g. a numpy array) alive; null if ours
  uint64_t version = 0;            // bumped by every in-place write through any view of it

  static std::shared_ptr<Storage> allocate(size_t nbytes);
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::shared_ptr<void> owner);
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

namespace autograd {
struct Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;

  // autograd
  bool requires_grad = false;  // for leaves; non-leaves require grad iff grad_fn is set
  bool retains_grad = false;
  bool is_view = false;        // shares storage with a tensor that takes part in autograd
  uint32_t output_nr = 0;      // which output of grad_fn this tensor is
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;
  std::shared_ptr<TensorImpl> grad;

  int64_t numel() const;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  TensorImpl* get() const { return impl_.get(); }

  // --- geometry --------------------------------------------------------------------------
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t numel() const { return impl_->numel(); }
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device; }
  size_t itemsize() const { return ember::itemsize(impl_->dtype); }
  bool is_contiguous() const;
  uint64_t version() const { return impl_->storage->version; }
  void bump_version() const { ++impl_->storage->version; }

  void* raw_data() const {
    return static_cast<char*>(impl_->storage->data) + impl_->offset * static_cast<int64_t>(itemsize());
  }
  template <typename T>
  T* data() const {
    EMBER_CHECK(dtype_of<T>::value == dtype(), TypeError, "expected dtype ", dtype_name(dtype_of<T>::value),
                ", tensor has ", dtype_name(dtype()));
    return static_cast<T*>(raw_data());
  }
  // The value of a one-element tensor, converted to double.
  double item() const;

  // --- autograd --------------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g);
  void retain_grad();
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // shares storage, no history

  // --- copies and views (all record autograd) ---------------------------------------------
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType t) const;
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const;  // requires compatible strides
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const Shape& dims) const;
  Tensor t() const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t d) const;
  Tensor unsqueeze(int64_t d) const;
  Tensor expand(const Shape& s) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor select(int64_t d, int64_t index) const;
  Tensor slice(int64_t d, int64_t start, int64_t stop, int64_t step = 1) const;
  Tensor narrow(int64_t d, int64_t start, int64_t length) const;

  // --- in-place (bump the version counter) ------------------------------------------------
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Contiguous (row-major) strides for a shape.
Shape contiguous_strides(const Shape& shape);
// Number of elements of a shape; throws ValueError on negative sizes or overflow.
int64_t shape_numel(const Shape& shape);
// Wraps a possibly negative dim into [0, ndim); throws IndexError.
int64_t wrap_dim(int64_t d, int64_t ndim);

// A tensor that views existing storage with the given geometry (no copy, no autograd).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);
// A new, uninitialised, contiguous tensor.
Tensor empty(const Shape& shape, DType dtype = DType::Float32);

}  // namespace ember
