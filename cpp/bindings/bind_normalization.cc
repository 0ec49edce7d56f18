// ember._C._norm
#include "common.h"

namespace ember::py_bind {

void bind_normalization(py::module_& m) { m.def_submodule("_norm"); }

}  // namespace ember::py_bind
