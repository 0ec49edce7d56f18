// ember._C._graph
#include "common.h"

namespace ember::py_bind {

void bind_graph(py::module_& m) { m.def_submodule("_graph"); }

}  // namespace ember::py_bind
