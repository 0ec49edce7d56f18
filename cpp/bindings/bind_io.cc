// ember._C._io: safetensors save/load and atomic file writes.
#include "common.h"
#include "ember/io.h"
#include "io/atomic_file.h"

namespace ember::py_bind {

void bind_io(py::module_& m) {
  py::module_ io = m.def_submodule("_io", "safetensors files");
  io.def("save_safetensors", &io::save_safetensors, py::arg("path"), py::arg("tensors"), py::arg("metadata"))
      .def("load_safetensors", [](const std::string& path) {
        io::Loaded l = io::load_safetensors(path);
        return py::make_tuple(l.tensors, l.metadata);
      })
      .def("atomic_write", [](const std::string& path, py::bytes data) {
        std::string_view view = data;  // borrowed from the Python bytes object
        io::atomic_write_file(path, view);
      });
}

}  // namespace ember::py_bind
