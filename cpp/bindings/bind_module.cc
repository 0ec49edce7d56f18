// The extension module ember._C: error translation and the bind_* entry points.
#include "common.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "ember C++ core";
  // Most-derived first: pybind11 tries translators in reverse order of registration.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ember::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const ember::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const ember::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const ember::OutOfMemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const ember::NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const ember::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory");
    }
  });
  ember::py_bind::bind_tensor(m);
  ember::py_bind::bind_ops(m);
  ember::py_bind::bind_autograd(m);
  ember::py_bind::bind_numpy(m);
  ember::py_bind::bind_io(m);
  ember::py_bind::bind_convolution(m);
  ember::py_bind::bind_graph(m);
  ember::py_bind::bind_recurrent(m);
  ember::py_bind::bind_attention(m);
  ember::py_bind::bind_optim(m);
  ember::py_bind::bind_normalization(m);
  ember::py_bind::bind_activation(m);
}
