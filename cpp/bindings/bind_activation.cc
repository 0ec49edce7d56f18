// ember._C._act
#include "common.h"

namespace ember::py_bind {

void bind_activation(py::module_& m) { m.def_submodule("_act"); }

}  // namespace ember::py_bind
